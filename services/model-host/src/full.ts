import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { modelHost } from '@memorize/contracts';
import {
  checkRegularFile,
  inClientTerms,
  parseJsonBytes,
  readRegularFile,
  resolveInRoot,
  shownInRoot,
  toClientTerms,
  writeFileAtomic,
  writeFolderAtomic,
} from '@memorize/files';
import { checkpointTensors, checkTrainableArchitecture, loadModel, readHfTensors, writeHfModel } from '@memorize/lm';
import { ADAMW_STATE_FORMAT, FullTrainer, isMemorizeFile, lmLoss } from '@memorize/memory';
import { tf, type SliceOptions } from '@memorize/tensor';
import { FailedPreconditionError, InvalidArgumentError } from '@memorize/errors';
import { optimizerOptions, type MemoryStore } from './memories.js';
import type { HeldModel, ModelRegistry } from './models.js';

/** SaveModel's marker in every folder it writes: only such folders are replaced with overwrite. */
export const MODEL_FOLDER_MARKER = 'memorize.json';
export const MODEL_FOLDER_FORMAT = 'memorize.model/v1';
/** The optimizer state SaveModel writes with include_optimizer and LoadModel restores. */
export const OPTIMIZER_FILE = 'optimizer.safetensors';

/** True when `folder` holds SaveModel's marker. */
function isSavedModelFolder(folder: string): boolean {
  const marker = join(folder, MODEL_FOLDER_MARKER);
  const json = parseJsonBytes(readRegularFile(marker, 'path', { noFollow: true }), marker, 'path') as { format?: unknown } | null;
  return json?.format === MODEL_FOLDER_FORMAT;
}

/** The HF folder a held model was loaded from (its path, or the folder of a model.safetensors); undefined for a .bin. */
function folderOf(held: HeldModel): string | undefined {
  if (statSync(held.path).isDirectory()) return held.path;
  return held.path.endsWith('.safetensors') ? dirname(held.path) : undefined;
}

/**
 * Full-parameter jobs on the held models: TrainStep with model_id, SaveModel (an HF folder inside the model root,
 * written atomically, optionally with the optimizer state), and LoadModel's optimizer restore.
 */
export class FullTraining {
  constructor(
    private readonly models: ModelRegistry,
    private readonly memories: MemoryStore,
  ) {}

  /** One AdamW step over every weight of the model (one slice), or the loss only with dry_run. */
  trainStep(held: HeldModel, request: modelHost.TrainStepRequest, slices: SliceOptions = {}): modelHost.TrainStepResponse {
    const attached = this.memories.list(held.id).map((m) => m.id);
    if (attached.length > 0) {
      throw new FailedPreconditionError(
        `model "${held.id}" has memories attached (${attached.join(', ')}): a full-parameter step would change the base they were made for; delete them first`,
        'model_id',
      );
    }
    checkTrainableArchitecture(held.model.config, 'model_id');
    // Rows are checked by the validator against the model's context; a full step has no documents.
    const rows = request.rows.map((row) => ({ ids: row.ids, weights: row.weights }));
    if (request.dryRun) {
      const loss = tf.tidy(() => lmLoss(held.model, rows).loss.dataSync()[0]);
      return { loss, lmLoss: loss, gradNorm: 0, step: BigInt(held.trainer?.steps ?? 0), tokens: rows.reduce((a, r) => a + r.ids.length - 1, 0) };
    }
    const options = optimizerOptions(request);
    const key = JSON.stringify(options);
    if (!held.trainer) {
      held.trainer = new FullTrainer(held.model, options);
    } else if (held.trainerOptions !== key) {
      // Hyper-parameters changed mid-run: keep the weights being trained and the moments, take the new settings.
      const previous = held.trainer;
      const next = new FullTrainer(held.model, options, previous.tensors());
      next.setState(previous.getState());
      previous.dispose();
      held.trainer = next;
    }
    held.trainerOptions = key;
    const r = held.trainer.step(rows, request.learningRate, slices);
    return { loss: r.loss, lmLoss: r.lmLoss, gradNorm: r.gradNorm, step: BigInt(r.step), tokens: r.tokens };
  }

  /**
   * SaveModel's work: config.json, model.safetensors and the tokenizer (plus optimizer.safetensors with
   * include_optimizer and the marker memorize.json) in a temp folder beside `path`, renamed into place. The
   * fingerprint answered is the one LoadModel of the folder reports (read back from it).
   */
  async save(held: HeldModel, request: modelHost.SaveModelRequest): Promise<modelHost.SaveModelResponse> {
    checkTrainableArchitecture(held.model.config, 'model_id');
    if (request.includeOptimizer && !held.trainer) {
      throw new InvalidArgumentError('the model has no optimizer state yet (no full-parameter TrainStep taken)', 'include_optimizer');
    }
    const root = this.models.modelRoot;
    const path = resolveInRoot(root, request.path, 'path');
    const trainer = held.trainer;
    const file = { field: 'path', client: request.path, path };
    await inClientTerms(root, [file], () =>
      writeFolderAtomic(
        path,
        (tmp) => {
          writeHfModel(held.model, tmp, { tokenizer: held.tokenizerPath, tensors: trainer?.tensors() });
          if (request.includeOptimizer) trainer!.saveState(join(tmp, OPTIMIZER_FILE));
          const marker = { format: MODEL_FOLDER_FORMAT, steps: trainer?.steps ?? 0, source: held.shown, optimizer: request.includeOptimizer };
          writeFileAtomic(join(tmp, MODEL_FOLDER_MARKER), new TextEncoder().encode(`${JSON.stringify(marker, null, 2)}\n`));
        },
        'path',
        { overwrite: request.overwrite, isOurs: isSavedModelFolder, what: 'a folder written by SaveModel', shown: request.path },
      ),
    );
    const written = loadModel(path);
    const fingerprint = written.fingerprint;
    written.dispose();
    const bytes = readdirSync(path).reduce((a, f) => a + statSync(join(path, f)).size, 0);
    return { path: shownInRoot(root, path), bytes: BigInt(bytes), fingerprint };
  }

  /**
   * LoadModel's optimizer restore (before the model serves any call): a folder holding optimizer.safetensors gets
   * a trainer over the folder's own tensors with the saved moments and step, unless skip_optimizer. Returns whether
   * it restored one.
   */
  restore(held: HeldModel, request: modelHost.LoadModelRequest): boolean {
    const folder = folderOf(held);
    if (request.skipOptimizer || !folder) return false;
    const optim = join(folder, OPTIMIZER_FILE);
    if (!existsSync(optim)) return false;
    const root = this.models.modelRoot;
    const shown = join(request.path.endsWith('.safetensors') ? dirname(request.path) : request.path, OPTIMIZER_FILE);
    checkRegularFile(optim, 'path', { noFollow: true, shown });
    if (!isMemorizeFile(optim, ADAMW_STATE_FORMAT)) {
      throw new InvalidArgumentError(`${shown} is not an optimizer-state file (pass skip_optimizer to load the model without it)`, 'path');
    }
    checkTrainableArchitecture(held.model.config, 'path');
    const options = optimizerOptions({});
    let trainer: FullTrainer | undefined;
    try {
      trainer = new FullTrainer(held.model, options, readHfTensors(folder, checkpointTensors(held.model).keys()));
      trainer.loadState(optim);
    } catch (error) {
      trainer?.dispose();
      throw toClientTerms(error, root, [
        { field: 'path', client: shown, path: optim },
        { field: 'path', client: request.path, path: folder },
      ]);
    }
    held.trainer = trainer;
    held.trainerOptions = JSON.stringify(options);
    return true;
  }
}
