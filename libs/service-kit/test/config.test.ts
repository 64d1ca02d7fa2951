import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidArgumentError } from '@memorize/errors';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadRoot, loadServiceConfig, memorizeHome } from '@memorize/service-kit';

test('defaults: loopback and the design ports', () => {
  assert.equal(loadServiceConfig('data', {}, {}).port, 50051);
  assert.equal(loadServiceConfig('model-host', {}, {}).port, 50052);
  assert.equal(loadServiceConfig('trainer', {}, {}).port, 50053);
  const evaluator = loadServiceConfig('evaluator', {}, {});
  assert.equal(evaluator.port, 50054);
  assert.equal(evaluator.host, '127.0.0.1');
  assert.equal(evaluator.logLevel, 'info');
});

test('flags win over the service env, which wins over the generic env', () => {
  const env = { MEMORIZE_MODEL_HOST_PORT: '6000', MEMORIZE_PORT: '7000', MEMORIZE_HOST: '0.0.0.0', MEMORIZE_LOG_LEVEL: 'debug' };
  assert.equal(loadServiceConfig('model-host', {}, env).port, 6000);
  assert.equal(loadServiceConfig('model-host', { port: '6100' }, env).port, 6100);
  assert.equal(loadServiceConfig('data', {}, env).port, 7000);
  assert.equal(loadServiceConfig('data', {}, env).host, '0.0.0.0');
  assert.equal(loadServiceConfig('data', {}, env).logLevel, 'debug');
});

test('bad configuration is refused with the setting named', () => {
  assert.throws(
    () => loadServiceConfig('data', { port: '70000' }, {}),
    (e: unknown) => e instanceof InvalidArgumentError && e.field === '--port' && /0, 65535/.test(e.message),
  );
  assert.throws(() => loadServiceConfig('data', { port: 'abc' }, {}), InvalidArgumentError);
  assert.throws(
    () => loadServiceConfig('data', {}, { MEMORIZE_DATA_PORT: '' }),
    (e: unknown) => e instanceof InvalidArgumentError && e.field === 'MEMORIZE_DATA_PORT',
  );
  assert.throws(() => loadServiceConfig('data', { logLevel: 'loud' }, {}), /log-level must be one of/);
  assert.throws(
    () => loadServiceConfig('data', {}, { MEMORIZE_SHUTDOWN_GRACE_MS: '-1' }),
    (e: unknown) => e instanceof InvalidArgumentError && e.field === 'MEMORIZE_SHUTDOWN_GRACE_MS',
  );
  assert.throws(() => loadServiceConfig('data', { host: ' ' }, {}), /host/);
});

test('roots: flag, then the service env, then the generic env, then $MEMORIZE_HOME/<kind>s (default ~/.memorize)', () => {
  const env = { MEMORIZE_MODEL_HOST_MODEL_ROOT: '/srv/models', MEMORIZE_MEMORY_ROOT: 'rel/memories', MEMORIZE_HOME: '/var/memorize' };
  assert.equal(loadRoot('model-host', 'model', { modelRoot: '/flag/models' }, env), '/flag/models');
  assert.equal(loadRoot('model-host', 'model', {}, env), '/srv/models');
  assert.equal(loadRoot('model-host', 'memory', {}, env), resolve('rel/memories'));
  assert.equal(loadRoot('data', 'data', {}, env), '/var/memorize/data');
  assert.equal(loadRoot('data', 'data', {}, { MEMORIZE_DATA_DATA_ROOT: '/d' }), '/d');
  assert.equal(loadRoot('model-host', 'memory', {}, {}), join(homedir(), '.memorize', 'memories'));
  assert.equal(memorizeHome({}), join(homedir(), '.memorize'));
  assert.throws(
    () => loadRoot('data', 'data', {}, { MEMORIZE_DATA_DATA_ROOT: ' ' }),
    (e: unknown) => e instanceof InvalidArgumentError && e.field === 'MEMORIZE_DATA_DATA_ROOT',
  );
});
