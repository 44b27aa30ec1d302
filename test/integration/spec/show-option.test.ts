// NixEvaluator.option, what `reconix show-option` prints: a machine's config.<option> from its module system,
// with the provisioning facts injected as a deploy injects them (real Nix, the mini builder).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { InfraFacts } from '../../../src/core/model.js';
import { NixEvaluator } from '../../../src/evaluate/evaluator.js';
import { exampleSource, scratch, type Scratch } from './helpers.js';

const FACTS: InfraFacts = { machines: { backend1: { privateIPv4: '10.1.0.11' } }, resources: {} };

describe('show-option of a machine (real Nix)', function () {
  this.timeout(60_000);
  let tmp: Scratch;
  let evaluator: NixEvaluator;
  beforeEach(async () => {
    tmp = await scratch('option');
    evaluator = new NixEvaluator({ scratchDir: join(tmp.dir, 'eval') });
  });
  afterEach(() => tmp.remove());

  const apache = () => exampleSource('apache', 'physical-local.nix');

  it("gives the machine's host name, target and the address a fact injects", async () => {
    assert.equal(await evaluator.option(apache(), FACTS, 'proxy', ['networking', 'hostName']), 'proxy');
    assert.equal(await evaluator.option(apache(), FACTS, 'proxy', ['deployment', 'targetEnv']), 'local');
    assert.equal(
      await evaluator.option(apache(), FACTS, 'backend1', ['networking', 'privateIPv4']),
      '10.1.0.11',
    );
    const etc = await evaluator.option(apache(), FACTS, 'proxy', ['environment', 'etc']);
    assert.match(JSON.stringify(etc), /10\.1\.0\.11/);
  });

  it('says which option a machine does not have, and which machine the network does not define', async () => {
    await assert.rejects(
      evaluator.option(apache(), FACTS, 'proxy', ['networking', 'nope']),
      /The machine `proxy' has no option networking\.nope \(no attribute nope\)/,
    );
    await assert.rejects(
      evaluator.option(apache(), FACTS, 'cache', ['networking', 'hostName']),
      /The machine `cache' is not defined in the network/,
    );
  });
});
