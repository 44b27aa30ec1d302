// The analysis gate of a rollout wave, with fakes of the host session and of the analysis: a failing gate
// stops the rollout after its wave, rolls that wave back and leaves the next one untouched.
import assert from 'node:assert/strict';
import type { AnalysisGate } from '../../../src/api/analysis.js';
import type { ActivationMode } from '../../../src/api/deployment.js';
import { emptyState, type HostObservation, type PhysicalView } from '../../../src/core/model.js';
import type { HostSession } from '../../../src/core/ports.js';
import type { ProgressEvent } from '../../../src/core/progress.js';
import type { ReconcileRequest } from '../../../src/core/request.js';
import { applyRollout } from '../../../src/apply/rollout.js';
import type { AnalysisOutcome } from '../../../src/observe/analysis.js';
import type { ReconcileDeps, RunContext, StateDoc } from '../../../src/observe/run.js';
import type { Action } from '../../../src/plan/actions.js';
import type { HostViews } from '../../../src/report/outcomes.js';
import { silentLogger } from '../../../src/util/log.js';

const OLD = '/nix/store/00000000000000000000000000000000-old';
const NEW = '/nix/store/11111111111111111111111111111111-new';

/** A host that runs OLD as generation 1 and records what it is asked to switch to. */
function fakeHost(log: string[]): HostSession {
  const gens = [{ number: 1, path: OLD, createdAt: 0, current: true }];
  const observation = (): HostObservation => ({ currentSystem: OLD, profileSystem: OLD, generations: gens });
  return {
    hostKey: 'ssh-ed25519 AAAA',
    observe: async () => observation(),
    missingPaths: async () => [],
    importPaths: async () => ({ paths: 0, bytes: 0 }),
    setProfile: async () => 2,
    switchTo: async (system: string, mode: ActivationMode) => void log.push(`${mode} ${system}`),
    switchGeneration: async (n: number) => (log.push(`generation ${n}`), OLD),
    deleteGenerations: async () => undefined,
    listGenerations: async () => gens,
    close: () => undefined,
  };
}

describe('a rollout wave with an analysis gate', () => {
  it('fails the rollout when the gate fails, rolls the wave back and never touches the next wave', async () => {
    const gate: AnalysisGate = {
      prometheus: { url: 'http://127.0.0.1:1' },
      query: 'up',
      successCondition: 'result == 1',
    };
    const calls: string[][] = [];
    const analysis = async (
      _g: AnalysisGate,
      vars: { machines: readonly string[] },
    ): Promise<AnalysisOutcome> => {
      calls.push([...vars.machines]);
      return { verdict: 'failed', measurements: [], message: 'result 0 is not == 1' };
    };
    const logs: Record<string, string[]> = { a: [], b: [] };
    const sessions = new Map(Object.entries(logs).map(([n, l]) => [n, fakeHost(l)]));
    const events: ProgressEvent[] = [];
    const req = {
      name: 'gated',
      op: 'deploy',
      mode: 'switch',
      maxParallel: 2,
      driftPolicy: 'Correct',
      source: { deployment: 'gated', files: [], args: {}, builder: 'mini' },
      rollout: { strategy: { waves: [{ count: 1, analysis: gate }] } },
    } as ReconcileRequest;
    const deps = {
      clock: { now: () => new Date(0), sleep: async () => undefined },
      log: silentLogger,
      store: { closures: async () => new Map() },
      analysis,
    } as unknown as ReconcileDeps;
    const ctx: RunContext = {
      req,
      deps,
      signal: new AbortController().signal,
      progress: (e) => events.push(e),
      enter: () => undefined,
    };
    const state = emptyState('gated');
    const doc: StateDoc = { state, checkpoint: async () => undefined, persist: async () => undefined };
    const actions: Action[] = ['a', 'b'].flatMap((m): Action[] => [
      { kind: 'copy', machine: m, system: NEW },
      { kind: 'activate', machine: m, system: NEW, mode: 'switch', cause: 'changed' },
    ]);
    const physical: PhysicalView = { description: '', machines: {}, resources: {} };
    const hosts: HostViews = {};
    for (const [n, s] of sessions) hosts[n] = { ok: true, observation: await s.observe() };

    const result = await applyRollout(ctx, doc, {
      actions,
      sessions,
      hosts,
      env: {},
      physical,
      targets: {},
      systems: { a: NEW, b: NEW },
    });

    assert.deepEqual(calls, [['a']]);
    assert.equal(result.rollout?.state, 'failed');
    assert.deepEqual(result.rollout?.failed, {
      wave: 1,
      machine: 'a',
      check: 'analysis',
      message: 'result 0 is not == 1',
    });
    assert.deepEqual(logs.a, [`switch ${NEW}`, 'generation 1', `switch ${OLD}`]);
    assert.deepEqual(logs.b, [], 'the second wave is never activated');
    assert.equal(state.rollout?.state, 'failed');
    assert.equal(state.machines.a?.activated?.system, OLD);
    assert.ok(events.some((e) => e.type === 'wave' && e.state === 'baking'));
    assert.ok(events.some((e) => e.type === 'machine' && e.machine === 'a' && e.stage === 'rolled-back'));
  });
});
