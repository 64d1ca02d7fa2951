/**
 * A separate process that checks a service's health every ~10 ms until its stdin closes (after
 * its first three checks it prints "ready"), then prints one JSON line:
 * [start epoch ms, latency ms] per check. Used to measure health latency without the test process's own event
 * loop (busy decoding large responses) in the way.
 */
import { checkHealth } from './client.js';

const address = process.argv[2];
const samples: Array<[number, number]> = [];
let open = true;
process.stdin.on('end', () => (open = false));
process.stdin.resume();
while (open) {
  const start = Date.now();
  const t0 = performance.now();
  const state = await checkHealth(address, '', 5_000).catch((e: Error) => e.message);
  samples.push([start, state === 'SERVING' ? performance.now() - t0 : Infinity]);
  if (samples.length === 3) process.stdout.write('ready\n');
  await new Promise((r) => setTimeout(r, 10));
}
process.stdout.write('samples ' + JSON.stringify(samples) + '\n');
