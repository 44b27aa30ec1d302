import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ReconixError } from '../../../src/core/errors.js';
import { NixEvaluator } from '../../../src/evaluate/evaluator.js';
import { scratch, type Scratch } from '../spec/helpers.js';

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILWzzmJ71RO+rrmtGCkU+qwXxAMI+lp+6qg7x9/2Vn2T';

describe('deployment.hostPublicKey in a network (real Nix, mini builder)', function () {
  this.timeout(60_000);
  let tmp: Scratch;
  before(async () => (tmp = await scratch('hostkey')));
  after(() => tmp.remove());

  it('is refused when a second known_hosts line is appended to it, naming the machine', async () => {
    const evaluator = new NixEvaluator({ scratchDir: join(tmp.dir, 'eval') });
    const net = await tmp.file(
      'network.nix',
      `{ web = { deployment.targetEnv = "none"; deployment.targetHost = "127.0.0.1";
          deployment.hostPublicKey = "${KEY}\n@cert-authority * ${KEY}"; }; }`,
    );
    await assert.rejects(evaluator.physical(tmp.source([net])), (err: unknown) => {
      assert.ok(err instanceof ReconixError, String(err));
      assert.match(
        err.message,
        /The machine `web': deployment\.hostPublicKey must be exactly one SSH host key/,
      );
      return true;
    });
  });
});
