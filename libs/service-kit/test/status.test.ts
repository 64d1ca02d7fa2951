import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AlreadyExistsError,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  PermissionDeniedError,
  ResourceExhaustedError,
} from '@memorize/errors';
import { GrpcStatusError, status, toStatusError } from '@memorize/service-kit';

test('domain errors map to their gRPC status codes, naming the field', () => {
  const cases: Array<[Error, status]> = [
    [new InvalidArgumentError('must be >= 1', 'top_n'), status.INVALID_ARGUMENT],
    [new NotFoundError('no corpus "x"', 'corpus_id'), status.NOT_FOUND],
    [new FailedPreconditionError('corpus is not tokenized', 'corpus_id'), status.FAILED_PRECONDITION],
    [new ResourceExhaustedError('at most 4096 per request', 'items'), status.RESOURCE_EXHAUSTED],
    [new AlreadyExistsError('memory exists', 'memory_id'), status.ALREADY_EXISTS],
    [new PermissionDeniedError('outside the memory root', 'path'), status.PERMISSION_DENIED],
  ];
  for (const [error, code] of cases) {
    const mapped = toStatusError(error);
    assert.equal(mapped.code, code, error.name);
    assert.match(mapped.details, new RegExp(`^${(error as InvalidArgumentError).field}: `));
    assert.deepEqual(mapped.metadata.get('memorize-field'), [(error as InvalidArgumentError).field]);
  }
});

test('a message that already names its field is not prefixed twice', () => {
  const mapped = toStatusError(new InvalidArgumentError('top_n must be >= 1', 'top_n'));
  assert.equal(mapped.details, 'top_n must be >= 1');
});

test('unexpected errors become INTERNAL without leaking their message or stack', () => {
  const secret = new Error('ENOENT /home/secret/path at Object.<anonymous> (file.ts:12:3)');
  const mapped = toStatusError(secret);
  assert.equal(mapped.code, status.INTERNAL);
  assert.doesNotMatch(mapped.details, /secret|file\.ts|ENOENT/);
  assert.equal(toStatusError('a string').code, status.INTERNAL);
});

test('explicit statuses pass through', () => {
  assert.equal(toStatusError(new GrpcStatusError(status.CANCELLED, 'stop')).code, status.CANCELLED);
});
