// The resource pass at scale, against moto: the resources of one dependency level are made a few at once, each
// create sent only once its token is in the state file on disk, and a resync that finds everything as recorded
// writes nothing.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DeploymentState, PhysicalView } from '../../../src/core/model.js';
import type { ResourceContext } from '../../../src/core/ports.js';
import { AwsResourceManager, type AwsCallHook } from '../../../src/providers/aws/index.js';
import { FileStateStore } from '../../../src/state/file-store.js';
import { silentLogger } from '../../../src/util/log.js';
import { isMutating } from '../../support/aws-hooks.js';
import { fastClock, useMoto, view, world, type AwsWorld } from './helpers.js';

const R = 'eu-west-1';
const GROUPS = 24;
const PARALLEL = 4;

/** GROUPS groups that refer to nothing, and one whose rule names the first of them: two levels. */
function network(): PhysicalView {
  const groups: Record<string, Record<string, unknown>> = {};
  for (let i = 0; i < GROUPS; i++) groups[`g${i}`] = { region: R, description: `group ${i}` };
  groups.web = { region: R, rules: [{ fromPort: 22, sourceGroup: { _ref: 'ec2SecurityGroups.g0' } }] };
  return view({ ec2SecurityGroups: groups });
}

describe('the resource pass, against moto', function () {
  this.timeout(300_000);
  const moto = useMoto(this);
  let w: AwsWorld;
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'reconix-resource-pass-'));
  });
  afterEach(async () => {
    await w?.cleanup();
    await rm(dir, { recursive: true, force: true });
  });

  it('creates a level a few at once, each create sent only once its token is on disk', async () => {
    const store = new FileStateStore(dir);
    const handle = await store.acquire('test', 'test');
    const file = join(dir, 'deployments', 'test.json');
    const tokensOnDisk = (): number => {
      const text = (() => {
        try {
          return readFileSync(file, 'utf8');
        } catch {
          return '{"resources":{}}';
        }
      })();
      const state = JSON.parse(text) as DeploymentState;
      return Object.values(state.resources).filter((r) => r.token).length;
    };
    let sent = 0;
    let inFlight = 0;
    let maxInFlight = 0;
    const early: string[] = [];
    const watch: AwsCallHook = {
      before(call) {
        if (call.command !== 'CreateSecurityGroup') return;
        sent++;
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        const durable = tokensOnDisk();
        if (durable < sent) early.push(`create ${sent} sent with ${durable} tokens on disk`);
      },
      after(call) {
        if (call.command === 'CreateSecurityGroup') inFlight--;
      },
    };
    w = await world(moto());
    const clients = moto().clients([watch, w.counter]);
    const manager = new AwsResourceManager({
      clients,
      secrets: w.secrets,
      clock: fastClock,
      parallel: PARALLEL,
    });
    const ctx: ResourceContext = {
      deployment: 'test',
      physical: network(),
      state: handle.state,
      save: () => handle.save(),
      log: silentLogger,
    };
    try {
      // WHEN the groups are made
      const { changes, facts } = await manager.reconcile(ctx, true);
      // THEN every one is, the dependent one with the id of the group it names
      assert.equal(changes.filter((c) => c.action === 'create').length, GROUPS + 1);
      assert.equal(sent, GROUPS + 1);
      assert.deepEqual(early, []);
      assert.ok(maxInFlight > 1, `creates ran one at a time (${maxInFlight} at most)`);
      assert.ok(maxInFlight <= PARALLEL, `${maxInFlight} creates at once, more than ${PARALLEL}`);
      const g0 = facts.resources.ec2SecurityGroups?.g0?.groupId;
      const web = handle.state.resources['ec2SecurityGroups.web'];
      assert.ok(typeof g0 === 'string' && web?.id);
      const again = await manager.reconcile(ctx, false);
      assert.deepEqual(
        again.changes.filter((c) => c.action !== 'unchanged'),
        [],
      );
      // AND the state on disk holds every id
      await handle.save();
      const onDisk = JSON.parse(readFileSync(file, 'utf8')) as DeploymentState;
      assert.equal(Object.values(onDisk.resources).filter((r) => r.id).length, GROUPS + 1);
    } finally {
      await handle.release();
    }
  });

  it('writes no state and changes nothing in AWS when a resync finds every resource as recorded', async () => {
    w = await world(moto());
    const physical = network();
    await w.manager().reconcile(w.ctx(physical), true);
    const recorded = JSON.stringify(w.state);
    // WHEN the same resources are reconciled again
    w.saves = 0;
    w.counter.reset();
    const { changes } = await w.manager().reconcile(w.ctx(physical), true);
    // THEN nothing changes, no save is asked for, and only the listing calls are made
    assert.deepEqual(
      changes.filter((c) => c.action !== 'unchanged'),
      [],
    );
    assert.equal(w.saves, 0);
    assert.equal(JSON.stringify(w.state), recorded);
    assert.deepEqual(
      w.counter.calls.filter((c) => isMutating(c.command)),
      [],
    );
    assert.ok(w.counter.calls.length <= 2, `${w.counter.calls.length} calls for a resync`);
  });
});
