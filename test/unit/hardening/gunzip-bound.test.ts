import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { ReconixError } from '../../../src/core/errors.js';
import { inflateState } from '../../../src/state/kube-store.js';

describe('the state recorded in a ConfigMap, gzipped', () => {
  it('inflates when it is within the bound', () => {
    assert.equal(inflateState(gzipSync('{"version":1}').toString('base64'), 'ns/web'), '{"version":1}');
  });

  it('is refused with an error naming the deployment when it inflates beyond the bound (a gzip bomb)', () => {
    const bomb = gzipSync(Buffer.alloc(8 * 1024 * 1024)).toString('base64');
    assert.ok(bomb.length < 64 * 1024);
    assert.throws(
      () => inflateState(bomb, 'ns/web', 1024 * 1024),
      (err: unknown) =>
        err instanceof ReconixError &&
        /^the recorded state of ns\/web does not inflate to at most 1048576 bytes/.test(err.message),
    );
  });
});
