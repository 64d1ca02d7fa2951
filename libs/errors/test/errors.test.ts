import assert from 'node:assert/strict';
import test from 'node:test';
import {
  AlreadyExistsError,
  FailedPreconditionError,
  InvalidArgumentError,
  MemorizeError,
  NotFoundError,
  PermissionDeniedError,
  ResourceExhaustedError,
} from '@memorize/errors';

test('each domain error is a MemorizeError named after its class, carrying the field it is about', () => {
  for (const Kind of [
    InvalidArgumentError,
    NotFoundError,
    FailedPreconditionError,
    ResourceExhaustedError,
    AlreadyExistsError,
    PermissionDeniedError,
  ]) {
    const error = new Kind('bad value', 'learning_rate');
    assert.ok(error instanceof MemorizeError && error instanceof Error);
    assert.equal(error.name, Kind.name);
    assert.equal(error.message, 'bad value');
    assert.equal(error.field, 'learning_rate');
  }
  assert.equal(new NotFoundError('no such run').field, undefined);
  assert.ok(!(new InvalidArgumentError('x') instanceof NotFoundError), 'the kinds are distinct (they map to different status codes)');
});
