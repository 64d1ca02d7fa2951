import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli as memorize } from '@memorize/testing';

test('serve: a bad --corpus-cache-bytes / --model-cache-bytes exits 2 naming the flag, before the service starts', () => {
  const data = memorize(['serve', 'data', '--port', '0', '--corpus-cache-bytes', 'lots'], 30_000);
  assert.equal(data.code, 2);
  assert.match(data.stderr, /--corpus-cache-bytes must be a positive byte count \(e\.g\. 536870912 or 512MiB\), got "lots"/);
  const host = memorize(['serve', 'model-host', '--port', '0', '--model-cache-bytes', '0'], 30_000);
  assert.equal(host.code, 2);
  assert.match(host.stderr, /--model-cache-bytes must be a positive byte count/);
});

test('serve: a bad --queue-depth (or MEMORIZE_MODEL_HOST_QUEUE_DEPTH) exits 2 naming the setting', () => {
  for (const value of ['0', '2.5', '100001']) {
    const host = memorize(['serve', 'model-host', '--port', '0', '--queue-depth', value], 30_000);
    assert.equal(host.code, 2, value);
    assert.match(host.stderr, new RegExp(`--queue-depth must be an integer in \\[1, 100000\\], got "${value.replace('.', '\\.')}"`));
  }
});
