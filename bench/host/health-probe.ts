/**
 * bench:host's health probe, a process of its own: `health-probe.ts <address> <interval ms>` calls
 * grpc.health.v1.Health/Check over one channel (its own connection) every interval, one check at a time, until
 * its stdin closes; prints "ready" after its first three answers, then one line `samples [[start epoch ms,
 * latency ms | null], ...]` (null: not SERVING, an error or no answer within 5 s).
 */
import { credentials, loadPackageDefinition, Metadata, type Client, type ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { protoPath } from 'grpc-health-check';

interface HealthClient extends Client {
  check(
    request: { service: string },
    metadata: Metadata,
    options: { deadline: Date },
    callback: (error: ServiceError | null, response: { status: string }) => void,
  ): void;
}

const [address, interval = '20'] = process.argv.slice(2);
const intervalMs = Number(interval);
const pkg = loadPackageDefinition(loadSync(protoPath, { keepCase: true, enums: String })) as unknown as {
  grpc: { health: { v1: { Health: new (address: string, creds: ReturnType<typeof credentials.createInsecure>, options: object) => HealthClient } } };
};
const client = new pkg.grpc.health.v1.Health(address, credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });

const check = (): Promise<boolean> =>
  new Promise((resolve) =>
    client.check({ service: '' }, new Metadata(), { deadline: new Date(Date.now() + 5_000) }, (error, response) =>
      resolve(!error && response.status === 'SERVING'),
    ),
  );

const samples: Array<[number, number | null]> = [];
let open = true;
let answered = 0;
process.stdin.on('end', () => (open = false));
process.stdin.on('error', () => (open = false));
process.stdin.resume();
while (open) {
  const at = Date.now();
  const t0 = performance.now();
  const ok = await check();
  const ms = performance.now() - t0;
  samples.push([at, ok ? Math.round(ms * 1000) / 1000 : null]);
  if (ok && ++answered === 3) process.stdout.write('ready\n');
  // A fixed cadence: the next check starts `intervalMs` after this one started (at once when it took longer).
  await new Promise((r) => setTimeout(r, Math.max(0, intervalMs - ms)));
}
client.close();
process.stdout.write(`samples ${JSON.stringify(samples)}\n`);
