/**
 * The three processes bench:trainer drives, as test/e2e/trainer.test.ts starts them: DataService and model-host on
 * the shared assets (../shared as data and model root, a temporary memory root), then the trainer told their
 * addresses and a temporary data directory. Each child is registered with ../shared/children.ts (killed on every
 * way out of the benchmark).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sharedRootsEnv, startServiceProcess, type ServiceProcess } from '@memorize/testing';
import { trackChild } from '../shared/children.js';

export interface TrainerStack {
  data: ServiceProcess;
  host: ServiceProcess;
  trainer: ServiceProcess;
  /** Stops the three (SIGTERM, SIGKILL after a grace) and removes the temporary folder. */
  stop(): Promise<void>;
}

const started = async (p: Promise<ServiceProcess>): Promise<ServiceProcess> => {
  const s = await p;
  trackChild(s.child);
  return s;
};

export async function startTrainerStack(timeoutMs = 90_000): Promise<TrainerStack> {
  const dir = mkdtempSync(join(tmpdir(), 'memorize-bench-trainer-'));
  const processes: ServiceProcess[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(processes.map((p) => p.stop(10_000).catch(() => undefined)));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    // Both settled before going on, so a failure of one still leaves the other registered and stopped.
    const settled = await Promise.allSettled([
      started(startServiceProcess('data', sharedRootsEnv(), timeoutMs)),
      started(startServiceProcess('model-host', sharedRootsEnv(join(dir, 'memories')), timeoutMs)),
    ]);
    for (const r of settled) if (r.status === 'fulfilled') processes.push(r.value);
    for (const r of settled) if (r.status === 'rejected') throw r.reason;
    const [data, host] = processes;
    const trainer = await started(
      startServiceProcess(
        'trainer',
        {
          MEMORIZE_TRAINER_DATA_ADDRESS: data.address,
          MEMORIZE_TRAINER_MODEL_HOSTS: host.address,
          MEMORIZE_TRAINER_DATA_DIR: join(dir, 'trainer'),
        },
        timeoutMs,
      ),
    );
    processes.push(trainer);
    return { data, host, trainer, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
