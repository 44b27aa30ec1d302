import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { NixEvaluator } from '../../../src/evaluate/evaluator.js';
import { loadManifests } from '../../../src/source/manifest.js';
import { resolveNetworkSource } from '../../../src/source/source.js';
import { EXAMPLES_DIR, scratch, type Scratch } from './helpers.js';

describe('the examples (real Nix)', function () {
  this.timeout(60_000);
  let tmp: Scratch;
  beforeEach(async () => {
    tmp = await scratch('examples');
  });
  afterEach(async () => {
    await tmp.remove();
  });

  // Examples with a local (and maybe a none) physical file; the EC2 ones are tested against moto
  // (test/integration/aws).
  for (const example of readdirSync(EXAMPLES_DIR).filter((e) =>
    existsSync(join(EXAMPLES_DIR, e, 'local.yaml')),
  )) {
    it(`${example}: every manifest is valid and its network evaluates with the mini builder`, async () => {
      const dir = join(EXAMPLES_DIR, example);
      const results = await loadManifests(dir);
      assert.deepEqual(results.map((r) => (r.ok ? r.manifest.metadata.name : r.error.message)).sort(), [
        `${example}-local`,
        ...(existsSync(join(dir, 'none.yaml')) ? [`${example}-none`] : []),
      ]);
      const evaluator = new NixEvaluator({ scratchDir: join(tmp.dir, 'eval') });
      for (const r of results) {
        assert.ok(r.ok);
        const src = { ...resolveNetworkSource(r.manifest, dir, tmp.dir), builder: 'mini' as const };
        const view = await evaluator.physical(src);
        const env = r.manifest.metadata.name.endsWith('-local') ? 'local' : 'none';
        for (const m of Object.values(view.machines)) assert.equal(m.targetEnv, env);
        const machines = Object.keys(view.machines);
        const systems = await evaluator.systems(src, { machines: {}, resources: {} }, machines);
        assert.deepEqual(Object.keys(systems).sort(), machines.sort());
      }
    });
  }
});
