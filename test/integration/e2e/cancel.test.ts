// A reconcile cancelled through its request's AbortSignal, on real local hosts: it stops at the next safe point
// (between machines, never inside an activation), says Cancelled, and a later reconcile does what is left.
import assert from 'node:assert/strict';
import { Reason } from '../../../src/api/conditions.js';
import type { HostConnector, HostSession } from '../../../src/core/ports.js';
import { reconcileDeployment } from '../../../src/reconcile/reconciler.js';
import { requestFor } from '../../../src/source/deployments.js';
import { makeWorkspace, type Workspace } from '../../support/workspace.js';

const MACHINES = ['backend1', 'backend2', 'proxy'];

/**
 * The workspace's connector, with `onSwitch` called once a session has started an activation on its host (the
 * detached script, see src/ssh/activation.ts) or run switch-to-configuration itself.
 */
function watchingSwitches(inner: HostConnector, onSwitch: (mode: string) => void): HostConnector {
  const wrap = (s: HostSession): HostSession =>
    new Proxy(s, {
      get(target, prop) {
        const v = Reflect.get(target, prop, target) as unknown;
        if (typeof v !== 'function') return v;
        if (prop === 'runCommand') {
          return async (...args: Parameters<NonNullable<HostSession['runCommand']>>) => {
            const r = await (v as NonNullable<HostSession['runCommand']>).apply(target, args);
            const started = /\/activate\.sh \S+ \S+ (switch|boot|test) /.exec(args[0]);
            if (started) onSwitch(started[1]!);
            return r;
          };
        }
        if (prop !== 'switchTo') return v.bind(target);
        return async (...args: Parameters<HostSession['switchTo']>) => {
          await (v as HostSession['switchTo']).apply(target, args);
          onSwitch(args[1]);
        };
      },
    });
  return { connect: async (...args) => wrap(await inner.connect(...args)) };
}

describe('cancelling a reconcile', function () {
  this.timeout(180_000);
  let ws: Workspace;

  before(async () => {
    ws = await makeWorkspace('apache');
  });
  after(async () => {
    await ws?.dispose();
  });

  async function deploy(signal?: AbortSignal, connector = ws.deps.connector) {
    const d = await ws.load();
    const req = requestFor(d.name, d.spec, d.source, 'deploy', { maxParallel: 1 });
    return reconcileDeployment({ ...req, ...(signal ? { signal } : {}) }, { ...ws.deps, connector });
  }

  it('cancelled before it starts, creates nothing and leaves every machine planned', async () => {
    const report = await deploy(AbortSignal.abort());
    assert.equal(report.ok, false);
    assert.equal(report.reason, Reason.Cancelled);
    assert.deepEqual(
      MACHINES.map((m) => [m, report.machines[m]?.outcome, Boolean(report.machines[m]?.created)]),
      MACHINES.map((m) => [m, 'planned', false]),
    );
    const state = await ws.state();
    for (const m of MACHINES) assert.equal(state.machines[m]?.target, undefined, `${m} was created`);
    assert.equal(state.status?.reason, Reason.Cancelled);
  });

  it('cancelled after the first activation, activates no other machine; the next deploy does the rest', async () => {
    const abort = new AbortController();
    const connector = watchingSwitches(ws.deps.connector, (mode) => {
      if (mode === 'switch') abort.abort();
    });
    const report = await deploy(abort.signal, connector);
    assert.equal(report.reason, Reason.Cancelled, report.message);
    assert.deepEqual(report.error && [report.error.reaction, report.error.scope], ['retry', 'deployment']);
    const activated = MACHINES.filter((m) => report.machines[m]?.outcome === 'activated');
    assert.equal(activated.length, 1, JSON.stringify(report.machines));
    const [first] = activated as [string];
    const rest = MACHINES.filter((m) => m !== first);
    for (const m of MACHINES) assert.equal(report.machines[m]?.created, true, `${m} was created`);
    for (const m of rest) {
      assert.equal(report.machines[m]?.outcome, 'planned', m);
      assert.equal(report.machines[m]?.error, undefined, m);
    }
    // The hosts' own logs: one switch on the first machine, none on the others.
    assert.equal((await ws.activations(first)).length, 1);
    for (const m of rest) assert.deepEqual(await ws.activations(m), [], m);
    const state = await ws.state();
    assert.equal(state.machines[first]?.activated?.system, report.machines[first]?.system);
    for (const m of rest) assert.equal(state.machines[m]?.activated, undefined, m);
    assert.equal(state.status?.reason, Reason.Cancelled);

    const again = await deploy();
    assert.equal(again.ok, true, again.message);
    assert.equal(again.machines[first]?.outcome, 'unchanged');
    for (const m of rest) assert.equal(again.machines[m]?.outcome, 'activated', m);
    for (const m of MACHINES) assert.equal((await ws.activations(m)).length, 1, m);
  });
});
