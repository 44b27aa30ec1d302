// A keyCommand's output is a secret of bounded size: one that prints past the cap (here without end) fails that
// key with a clear error, is killed, and nothing it printed reaches the error.
import assert from 'node:assert/strict';
import { Reason } from '../../../src/api/conditions.js';
import { ReconixError } from '../../../src/core/errors.js';
import { localKeySource } from '../../../src/keys/resolve.js';
import type { DesiredKey } from '../../../src/keys/spec.js';

const key = (keyCommand: string[]): DesiredKey => ({
  keyCommand,
  destDir: '/run/keys',
  user: 'root',
  group: 'root',
  permissions: '0600',
  uploadAt: 'pre-activation',
});

describe('keyCommand output is bounded', () => {
  const source = localKeySource({ maxBytes: 64 * 1024, commandTimeoutMs: 20_000 });

  it('fails the key when the command prints more than the cap, without a byte of its output', async () => {
    const started = Date.now();
    const err = await source.read('web', 'flood', key(['yes', 'S3CRET-LINE'])).then(
      () => assert.fail('a flood was accepted as a key'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof ReconixError);
    assert.equal(err.reason, Reason.KeyUnavailable);
    assert.match(err.message, /^web: key "flood": keyCommand "yes" printed more than 65536 bytes$/);
    assert.doesNotMatch(err.message, /S3CRET/);
    // Killed at the cap, not left to run into the timeout.
    assert.ok(Date.now() - started < 10_000);
  });

  it('accepts a key right at the cap', async () => {
    const content = await source.read('web', 'full', key(['head', '-c', String(64 * 1024), '/dev/zero']));
    assert.equal(content.length, 64 * 1024);
  });
});
