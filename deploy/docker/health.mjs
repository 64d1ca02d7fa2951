#!/usr/bin/env node
// The images' HEALTHCHECK: grpc.health.v1.Health/Check of the overall service ("") on 127.0.0.1:<port>; exit 0
// when SERVING, 1 otherwise (not serving, no answer within 3 s). Usage: node health.mjs <port>
import { credentials, loadPackageDefinition } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { protoPath } from 'grpc-health-check';

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port < 1 || port > 65535) {
  process.stderr.write('usage: health.mjs <port>\n');
  process.exit(2);
}
const { Health } = loadPackageDefinition(loadSync(protoPath, { enums: String })).grpc.health.v1;
const client = new Health(`127.0.0.1:${port}`, credentials.createInsecure());
client.check({ service: '' }, { deadline: Date.now() + 3000 }, (error, response) => {
  const status = error ? `error: ${error.message}` : response.status;
  process.stdout.write(`${status}\n`);
  client.close();
  process.exit(!error && status === 'SERVING' ? 0 : 1);
});
