// Rollouts in health-gated waves on nine real local hosts: a failing check stops the rollout and rolls its wave
// back, later waves never receive the closure, a failed revision is not retried until a file changes, bake time
// and pause/resume. One set of hosts serves every case.
import assert from 'node:assert/strict';
import { access } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { Reason } from '../../../src/api/conditions.js';
import { reconix } from '../../support/cli.js';
import { startMetricsEndpoint, type MetricsEndpoint } from '../../support/metrics-endpoint.js';
import { startPrometheus, type PrometheusServer } from '../../support/prometheus.js';
import { eventually, makeWorkspace, type Workspace } from '../../support/workspace.js';

const MACHINES = Array.from({ length: 9 }, (_, i) => `m${i + 1}`);

// Generation `gen` of the network: every machine says "ok" in its /etc/health but `bad`, which says "bad".
const network = `{ gen ? "1", bad ? "", ... }:
{
  network.description = "waves";
  defaults = { name, ... }: {
    deployment.targetEnv = "local";
    deployment.tags = [ (if name == "m1" then "canary" else "fleet") ];
    deployment.healthChecks = [ { cmd = "grep -qx ok /run/current-system/etc/health"; retries = 1; period = "100ms"; } ];
    environment.etc."health".text = if name == bad then "bad\\n" else "ok\\n";
    environment.etc."generation".text = gen;
    system.stateVersion = "24.05";
  };
${MACHINES.map((m) => `  ${m} = { ... }: { };`).join('\n')}
}
`;

const manifest = (gen: string, bad: string, strategy: string) => `apiVersion: reconix.dev/v1alpha1
kind: NixDeployment
metadata: { name: waves }
spec:
  network: { files: [network.nix], args: { gen: "${gen}", bad: "${bad}" } }
  builder: mini
  rollout: { maxParallel: 3, strategy: ${strategy} }
`;
const THREE_WAVES = '{ waves: [{ count: 3 }, { count: 3 }] }';

describe('rollouts in health-gated waves', function () {
  this.timeout(900_000);
  let ws: Workspace;

  const deploy = async (gen: string, bad = '', strategy = THREE_WAVES) => {
    await ws.write('local.yaml', manifest(gen, bad, strategy));
    return ws.run('deploy');
  };
  const current = async () => {
    const check = await ws.run('check');
    return Object.fromEntries(MACHINES.map((m) => [m, check.machines[m]?.current]));
  };
  /** Whether the host's own store holds `path` (its /nix is a directory of its own). */
  const hostHas = async (machine: string, path: string) => {
    const dir = (await ws.state()).machines[machine]?.target?.dir;
    assert.equal(typeof dir, 'string');
    return access(join(dir as string, 'nix/store', basename(path))).then(
      () => true,
      () => false,
    );
  };

  /** Deploy local.yaml from the command line, as a user does. */
  const deployFromCli = () =>
    reconix(['-f', join(ws.dir, 'local.yaml'), '--state-dir', ws.stateDir, 'deploy']);
  /**
   * After a rollout stopped at wave 2 of three: the first wave keeps the new system, the second is back on what
   * it ran `before`, and the third runs what it ran and never received the new closure.
   */
  async function assertStoppedAtSecondWave(before: Awaited<ReturnType<typeof current>>): Promise<void> {
    const after = await current();
    const plan = await ws.run('plan');
    const next = plan.machines.m7!.system!;
    for (const m of ['m1', 'm2', 'm3'])
      assert.equal(after[m], plan.machines[m]!.system, `${m} keeps the new system`);
    for (const m of ['m4', 'm5', 'm6'])
      assert.equal(after[m], before[m], `${m} is back on its previous system`);
    for (const m of ['m7', 'm8', 'm9']) {
      assert.equal(after[m], before[m]);
      assert.equal(await hostHas(m, next), false, `${m} never received the new closure`);
    }
  }

  before(async () => {
    ws = await makeWorkspace('trivial');
    await ws.write('network.nix', network);
    const first = await deploy('1');
    assert.equal(first.ok, true, first.message);
    assert.deepEqual(
      first.rollout?.waves.map((w) => w.machines),
      [MACHINES.slice(0, 3), MACHINES.slice(3, 6), MACHINES.slice(6)],
    );
  });
  after(async () => {
    await ws?.dispose();
  });

  it('stops at the wave whose check fails, rolls that wave back and never copies to later waves', async () => {
    const before = await current();
    // GIVEN generation 2, whose m5 fails its health check
    await ws.write('local.yaml', manifest('2', 'm5', THREE_WAVES));
    // WHEN it is deployed from the command line
    const run = await deployFromCli();
    // THEN it exits 1 naming the wave, the machine and the check
    assert.equal(run.code, 1, run.stderr + run.stdout);
    assert.match(run.stdout, /RolloutFailed.*wave 2 of 3: machine m5, check cmd grep -qx ok/);
    await assertStoppedAtSecondWave(before);
    const st = await ws.state();
    assert.equal(st.rollout?.state, 'failed');
    assert.deepEqual(
      { wave: st.rollout?.failed?.wave, machine: st.rollout?.failed?.machine },
      { wave: 2, machine: 'm5' },
    );
  });

  it('does not try a failed revision again by itself, but does once a file changes', async () => {
    const activations = (await ws.activations('m4')).length;
    // WHEN the controller's resync reconciles the same revision
    const again = await ws.run('deploy');
    // THEN nothing is activated and the rollout is still failed
    assert.equal(again.reason, Reason.RolloutFailed);
    assert.equal((await ws.activations('m4')).length, activations);
    // WHEN the network is fixed
    const fixed = await deploy('2');
    assert.equal(fixed.ok, true, fixed.message);
    assert.equal(fixed.rollout?.state, 'complete');
    const now = await current();
    for (const m of MACHINES) assert.equal(now[m], fixed.machines[m]!.system);
  });

  it('with rollbackCompleted, rolls the waves that passed back too', async () => {
    const before = await current();
    const report = await deploy(
      '3',
      'm5',
      '{ rollbackCompleted: true, waves: [{ count: 3 }, { count: 3 }] }',
    );
    assert.equal(report.ok, false);
    assert.equal(report.rollout?.failed?.machine, 'm5');
    const after = await current();
    for (const m of MACHINES) assert.equal(after[m], before[m], `${m} runs what it ran before`);
    for (const m of ['m1', 'm2', 'm3', 'm4', 'm5', 'm6']) assert.equal(report.machines[m]!.rolledBack, true);
  });

  it('bakes each wave, pauses after a wave and resumes when asked', async () => {
    const strategy =
      '{ bakeTime: 1500ms, waves: [{ selector: { tags: [canary] }, pause: true }, { count: 4 }] }';
    // WHEN a rollout pauses after its canary wave
    const paused = await deploy('4', '', strategy);
    assert.equal(paused.ok, true, paused.message);
    assert.equal(paused.reason, Reason.RolloutPaused);
    assert.ok(paused.durationMs >= 1500, `baked ${paused.durationMs} ms`);
    assert.equal(paused.machines.m1!.outcome, 'activated');
    assert.equal(paused.machines.m2!.outcome, 'planned');
    // THEN a resync keeps it paused
    assert.equal((await ws.run('deploy')).reason, Reason.RolloutPaused);
    // WHEN resumed from the command line
    const resume = await reconix(['--state-dir', ws.stateDir, 'rollout', 'resume', 'waves']);
    assert.equal(resume.code, 0, resume.stderr);
    const done = await ws.run('deploy');
    // THEN the two waves left roll out, each baking
    assert.equal(done.ok, true, done.message);
    assert.equal(done.rollout?.state, 'complete');
    assert.ok(done.durationMs >= 3000, `baked ${done.durationMs} ms`);
    assert.equal(done.machines.m1!.outcome, 'unchanged');
    for (const m of MACHINES.slice(1)) assert.equal(done.machines[m]!.outcome, 'activated', m);
  });

  it('stops at the wave whose Prometheus gate fails, rolls that wave back and never copies to later waves', async () => {
    // GIVEN every machine serving its own error ratio on its own address, scraped by a real Prometheus; m5's is 0.5
    const st = await ws.state();
    const endpoints: MetricsEndpoint[] = [];
    let prometheus: PrometheusServer | undefined;
    try {
      for (const m of MACHINES) {
        const address = st.machines[m]?.endpoint?.host;
        assert.ok(address, `${m} has an address`);
        endpoints.push(
          await startMetricsEndpoint({ address, machine: m, errorsRatio: m === 'm5' ? 0.5 : 0 }),
        );
      }
      prometheus = await startPrometheus({
        jobs: [{ job: 'machines', targets: endpoints.map((e) => e.target) }],
      });
      await eventually(
        'every machine scraped',
        async () => (await prometheus!.samples('demo_errors_ratio')).length === MACHINES.length,
      );
      const gate = `{ prometheus: { url: "${prometheus.api}" }, query: 'max(demo_errors_ratio{machine=~"{{machines}}"})', successCondition: "result < 0.1", interval: 500ms, count: 2 }`;
      const strategy = `{ waves: [{ count: 3, analysis: ${gate} }, { count: 3, analysis: ${gate} }] }`;
      const before = await current();
      await ws.write('local.yaml', manifest('5', '', strategy));
      // WHEN it is deployed from the command line
      const run = await deployFromCli();
      // THEN wave 1's gate passed, wave 2's failed on m5's ratio, and the run says so
      assert.equal(run.code, 1, run.stderr + run.stdout);
      assert.match(run.stdout, /RolloutFailed.*wave 2 of 3/);
      assert.match(run.stdout, /analysis/);
      assert.match(run.stdout, /0\.5/);
      await assertStoppedAtSecondWave(before);
      const failed = (await ws.state()).rollout;
      assert.equal(failed?.state, 'failed');
      assert.equal(failed?.failed?.wave, 2);
      assert.equal(failed?.failed?.check, 'analysis');
    } finally {
      await prometheus?.stop();
      await Promise.all(endpoints.map((e) => e.stop()));
    }
  });
});
