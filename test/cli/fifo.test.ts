// The command line opens only regular files: a FIFO (which would block a plain open until a writer comes) or a
// device is a clear error with exit code 2, at once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { runCli as memorize, storiesBin, storiesTok, withTempDir } from '@memorize/testing';

function refusedPromptly(args: string[], pattern: RegExp): void {
  const t0 = Date.now();
  const r = memorize(args, 30_000);
  assert.equal(r.code, 2, `exit ${r.code}: ${r.stderr}`);
  assert.match(r.stderr, pattern);
  assert.equal(r.stdout, '');
  assert.ok(Date.now() - t0 < 30_000, 'does not hang');
}

test('generate --model FIFO, --tokenizer FIFO and memory inspect FIFO exit 2 at once with a clear message', async () => {
  await withTempDir(async (dir) => {
    const fifo = join(dir, 'model.bin');
    execFileSync('mkfifo', [fifo]);
    refusedPromptly(
      ['generate', '--model', fifo, '--tokenizer', storiesTok, '--prompt', 'x'],
      /^memorize: .*model\.bin is a FIFO, expected a regular file/m,
    );
    refusedPromptly(['generate', '--model', storiesBin, '--tokenizer', fifo, '--prompt', 'x'], /^memorize: .*model\.bin is a FIFO/m);
    refusedPromptly(['memory', 'inspect', fifo], /^memorize: .*model\.bin is a FIFO, expected a regular file/m);
    refusedPromptly(['memory', 'inspect', '/dev/zero'], /^memorize: .*\/dev\/zero is a device, expected a regular file/m);
    refusedPromptly(['memory', 'inspect', dir], /^memorize: .*is a folder, expected a regular file/m);
  });
});
