/**
 * `memorize generate`: prints the prompt followed by the model's continuation exactly as llama2.c's run.c
 * prints it (prompt pieces echoed, leading space after BOS dropped, <0xNN> pieces as raw bytes, unprintable
 * single bytes skipped, one trailing newline). stdout carries only that text; diagnostics go to stderr.
 */
import { initBackend } from '@memorize/tensor';
import { InvalidArgumentError } from '@memorize/errors';
import { generate, loadModel, loadTokenizer, resolveTokenizerPath, type Tokenizer } from '@memorize/lm';
import { checkConfig } from '@memorize/model-host';
import { fromFlag } from '../flags.js';

export interface GenerateCommandOptions {
  /** HF folder or llama2.c .bin. */
  model: string;
  /** Tokenizer path: required for a .bin unless tokenizer.bin sits next to it; an HF folder uses its tokenizer.json. */
  tokenizer?: string;
  prompt: string;
  maxNewTokens: number;
  temperature: number;
  topP: number;
  /**
   * Sampling seed, 0..2^64-1 as run.c's unsigned long long; 0 (xorshift's fixed point, which run.c replaces by
   * the clock) or undefined: the clock.
   */
  seed?: bigint | number;
}

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

/** run.c's safe_printf: a single-byte piece is printed only if it is printable ASCII or whitespace. */
function printable(bytes: Uint8Array): boolean {
  if (bytes.length !== 1) return true;
  const b = bytes[0];
  return (b >= 0x20 && b <= 0x7e) || (b >= 0x09 && b <= 0x0d);
}

function write(out: NodeJS.WritableStream, tokenizer: Tokenizer, prev: number, id: number): void {
  const bytes = tokenizer.tokenBytes(prev, id);
  if (bytes.length > 0 && printable(bytes)) out.write(Buffer.from(bytes));
}

export async function runGenerate(opts: GenerateCommandOptions, out: NodeJS.WritableStream): Promise<void> {
  // Everything is checked before the first byte reaches stdout, so a refused command prints nothing there.
  // The flags' ranges are checked by the caller (main.ts); these guard programmatic callers.
  if (!Number.isInteger(opts.maxNewTokens) || opts.maxNewTokens < 0) {
    throw new InvalidArgumentError('--max-new-tokens must be a non-negative integer', '--max-new-tokens');
  }
  if (!(opts.temperature >= 0) || !Number.isFinite(opts.temperature)) throw new InvalidArgumentError('--temperature must be >= 0', '--temperature');
  if (!(opts.topP > 0 && opts.topP <= 1)) throw new InvalidArgumentError('--top-p must be in (0, 1]', '--top-p');
  const seed = opts.seed === undefined ? undefined : BigInt(opts.seed);
  if (seed !== undefined && (seed < 0n || seed >= 1n << 64n)) throw new InvalidArgumentError('--seed must be an integer in 0..2^64-1', '--seed');
  const backend = await initBackend({ logger: log, gradients: false });
  const t0 = performance.now();
  // Size limits and free memory checked before anything is allocated (as model-host does).
  const model = await fromFlag('--model', () => loadModel(opts.model, { checkConfig }));
  const tokenizer = await fromFlag(opts.tokenizer === undefined ? '--model' : '--tokenizer', () =>
    loadTokenizer(resolveTokenizerPath(opts.model, opts.tokenizer), { vocabSize: model.config.vocabSize }),
  ).catch((error: unknown) => {
    model.dispose();
    throw error;
  });
  log(
    `model ${opts.model} (${model.config.arch}, ${model.parameterCount} parameters, fingerprint ${model.fingerprint.slice(0, 16)}) loaded in ${(performance.now() - t0).toFixed(0)} ms on ${backend.name}`,
  );
  try {
    const bos = tokenizer.bosId >= 0 ? tokenizer.bosId : model.config.bosId;
    const prompt = tokenizer.encode(opts.prompt, { bos: true });
    if (prompt.length === 0 || prompt[0] !== bos) prompt.unshift(bos);
    if (prompt.length > model.config.maxSeqLen) {
      throw new InvalidArgumentError(`--prompt is ${prompt.length} tokens; the model takes at most ${model.config.maxSeqLen}`, '--prompt');
    }
    // Echo the prompt the way run.c does: each token decoded against the one before it.
    for (let i = 1; i < prompt.length; i++) write(out, tokenizer, prompt[i - 1], prompt[i]);
    const budget = Math.min(opts.maxNewTokens, model.config.maxSeqLen - prompt.length + 1);
    const started = performance.now();
    const result = await generate(model, prompt, {
      maxNewTokens: Math.max(budget, 0),
      temperature: opts.temperature,
      topP: opts.topP,
      // Xorshift64 takes the full 64-bit seed; SamplerOptions types it as a number, exact only below 2^53, so a
      // larger seed is handed over as the bigint it is (Xorshift64 accepts number | bigint).
      seed: seed === undefined || seed === 0n ? undefined : seed,
      // run.c ends a story when the model emits BOS; EOS ends generation for HF-style models.
      stopTokens: [...new Set([bos, tokenizer.eosId >= 0 ? tokenizer.eosId : model.config.eosId])],
      onToken: (id, prev) => write(out, tokenizer, prev, id),
    });
    out.write('\n');
    const secs = (performance.now() - started) / 1000;
    log(`generated ${result.tokens.length} tokens (${result.stopReason}, seed ${result.seed}) at ${(result.tokens.length / secs).toFixed(1)} tok/s`);
  } finally {
    model.dispose();
  }
}
