// End to end on real local hosts: deploy, redeploy, change one machine, roll back and forward, locking.
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Reason } from '../../../src/api/conditions.js';
import { listGenerations, rollback } from '../../../src/apply/operations.js';
import { requestFor } from '../../../src/source/deployments.js';
import { run } from '../../../src/util/exec.js';
import { makeWorkspace, type Workspace } from '../../support/workspace.js';

const MACHINES = ['backend1', 'backend2', 'proxy'];

describe('deploying the apache network to local hosts', function () {
  this.timeout(120_000);
  let ws: Workspace;

  before(async () => {
    ws = await makeWorkspace('apache');
  });
  after(async () => {
    await ws?.dispose();
  });

  it('creates, builds, copies and activates all three machines from a logical and a physical file', async () => {
    const report = await ws.run('deploy');
    assert.equal(report.ok, true, report.message);
    for (const m of MACHINES) {
      const r = report.machines[m]!;
      assert.equal(r.outcome, 'activated', `${m}: ${JSON.stringify(r)}`);
      assert.equal(r.created, true);
      assert.equal(r.current, r.system);
      assert.ok((r.copied?.paths ?? 0) > 0);
      const log = await ws.activations(m);
      assert.equal(log.length, 1);
      assert.match(log[0]!, new RegExp(`switch ${r.system}$`));
    }
  });

  it("builds the proxy's configuration from the backends' addresses", async () => {
    const state = await ws.state();
    const proxy = state.machines.proxy!;
    const { readFile } = await import('node:fs/promises');
    const text = await readFile(`${proxy.activated!.system}/etc/httpd/proxy.conf`, 'utf8');
    for (const b of ['backend1', 'backend2']) {
      const addr = state.machines[b]!.endpoint!.host;
      assert.ok(text.includes(`http://${addr}:80`), `${b} (${addr}) missing from:\n${text}`);
    }
    const hosts = await readFile(`${proxy.activated!.system}/etc/hosts`, 'utf8');
    for (const m of MACHINES) assert.ok(hosts.includes(`${state.machines[m]!.endpoint!.host} ${m}`));
  });

  /** What each host's own store holds: the valid paths its Nix database lists, and the entries of /nix/store. */
  async function stores(): Promise<Record<string, { valid: string[]; entries: string[] }>> {
    const state = await ws.state();
    const out: Record<string, { valid: string[]; entries: string[] }> = {};
    for (const m of MACHINES) {
      const { pid, dir } = state.machines[m]!.target as { pid: number; dir: string };
      const listed = await run('nsenter', [
        ...['--mount', '--target', String(pid), '--'],
        ...['nix', '--extra-experimental-features', 'nix-command', 'path-info', '--all'],
      ]);
      const valid = listed.stdout.split('\n').filter(Boolean).sort();
      out[m] = { valid, entries: (await readdir(join(dir, 'nix/store'))).sort() };
      assert.ok(valid.includes(state.machines[m]!.activated!.system), `${m} lists its system`);
    }
    return out;
  }

  it('copies nothing and activates nothing on a second deploy', async () => {
    const before = await Promise.all(MACHINES.map((m) => ws.activations(m)));
    const storesBefore = await stores();
    const report = await ws.run('deploy');
    assert.equal(report.ok, true, report.message);
    assert.deepEqual(report.plan.actions, []);
    for (const m of MACHINES) {
      assert.equal(report.machines[m]!.outcome, 'unchanged');
      assert.equal(report.machines[m]!.copied, undefined);
    }
    assert.deepEqual(await Promise.all(MACHINES.map((m) => ws.activations(m))), before);
    // The hosts' stores say the same as the report: not one path added or removed.
    assert.deepEqual(await stores(), storesBefore);
  });

  it('rebuilds, copies and activates only the machine whose configuration changed', async () => {
    const net = await ws.read('network.nix');
    // GIVEN a change to backend1 alone
    await ws.write(
      'network.nix',
      net.replace(
        'backend1 = backend "backend1";',
        'backend1 = { imports = [ (backend "backend1") ]; environment.etc.motd.text = "v2"; };',
      ),
    );
    const before = Object.fromEntries(
      await Promise.all(MACHINES.map(async (m) => [m, await ws.activations(m)] as const)),
    );
    const plan = await ws.run('plan');
    assert.deepEqual(
      plan.plan.actions.map((a) => `${a.kind}:${a.machine}`),
      ['build:backend1', 'copy:backend1', 'activate:backend1'],
    );
    const report = await ws.run('deploy');
    assert.equal(report.ok, true, report.message);
    assert.equal(report.machines.backend1!.outcome, 'activated');
    assert.equal(report.machines.backend1!.built, true);
    assert.equal(report.machines.backend1!.copied?.paths, 1);
    assert.equal(report.machines.backend2!.outcome, 'unchanged');
    assert.equal(report.machines.proxy!.outcome, 'unchanged');
    assert.equal((await ws.activations('backend1')).length, before.backend1!.length + 1);
    assert.deepEqual(await ws.activations('backend2'), before.backend2);
    assert.deepEqual(await ws.activations('proxy'), before.proxy);
  });

  it('rolls backend1 back to generation 1, holds it there, and forward to generation 2 again', async () => {
    const d = await ws.load();
    const req = requestFor(d.name, d.spec, d.source, 'deploy', { include: ['backend1'] });
    const gens = (await listGenerations(req, ws.deps))[0]!;
    assert.deepEqual(
      gens.value!.map((g) => [g.number, g.current]),
      [
        [1, false],
        [2, true],
      ],
    );
    const [back] = await rollback(req, ws.deps, 1);
    assert.equal(back?.ok, true, back?.error?.message);
    assert.equal(back?.value?.system, gens.value![0]!.path);
    assert.match((await ws.activations('backend1')).at(-1)!, new RegExp(`switch ${gens.value![0]!.path}$`));

    // The controller must not undo a rollback while the spec is unchanged.
    const again = await ws.run('deploy');
    assert.equal(again.machines.backend1!.outcome, 'held');
    assert.equal(again.plan.actions.length, 0);

    const [fwd] = await rollback(req, ws.deps, 2);
    assert.equal(fwd?.value?.system, gens.value![1]!.path);
    assert.equal((await ws.state()).machines.backend1!.hold, undefined);
    const after = await ws.run('deploy');
    assert.equal(after.machines.backend1!.outcome, 'unchanged');
  });

  it("re-copies a generation's closure that the host lost before rolling back to it", async () => {
    const d = await ws.load();
    const req = requestFor(d.name, d.spec, d.source, 'deploy', { include: ['backend2'] });
    // GIVEN backend2 at generation 2, whose generation 1 was wiped from its store
    const net = await ws.read('network.nix');
    await ws.write(
      'network.nix',
      net.replace(
        'backend2 = backend "backend2";',
        'backend2 = { imports = [ (backend "backend2") ]; environment.etc.motd.text = "g2"; };',
      ),
    );
    assert.equal((await ws.run('deploy')).machines.backend2!.generation, 2);
    const gen1 = (await listGenerations(req, ws.deps))[0]!.value!.find((g) => g.number === 1)!;
    const pid = (await ws.state()).machines.backend2!.target!.pid as number;
    await run('nsenter', [
      '--mount',
      '--target',
      String(pid),
      '--',
      'nix-store',
      '--delete',
      '--ignore-liveness',
      gen1.path,
    ]);
    // WHEN rolling back to generation 1
    const [res] = await rollback(req, ws.deps, 1);
    // THEN the closure is copied again and activated
    assert.equal(res?.ok, true, res?.error?.message);
    assert.equal(res?.value?.copied, 1);
    assert.match((await ws.activations('backend2')).at(-1)!, new RegExp(`switch ${gen1.path}$`));
    await rollback(req, ws.deps, 2);
  });

  it('refuses a second writer with a clear "locked by" error', async () => {
    const d = await ws.load();
    const held = await ws.deps.state.acquire(d.name, 'another reconix deploy');
    try {
      const report = await ws.run('deploy');
      assert.equal(report.ok, false);
      assert.equal(report.reason, Reason.StateLocked);
      assert.match(report.message, /locked by pid \d+ .*another reconix deploy/);
    } finally {
      await held.release();
    }
  });
});
