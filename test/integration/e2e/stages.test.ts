// A deploy stopped after a stage, as NixOps' --create-only, --build-only and --copy-only: on real local hosts,
// each stage does its part and nothing of the next, and a full deploy afterwards only does what is left. Then
// `exec` on the deployed machines.
import assert from 'node:assert/strict';
import { clientKeyFile } from '../../../src/cli/deps.js';
import { execAll, type SshTarget } from '../../../src/cli/ssh.js';
import { sshAccessAll } from '../../../src/apply/operations.js';
import { requestFor } from '../../../src/source/deployments.js';
import { makeWorkspace, type Workspace } from '../../support/workspace.js';

const MACHINES = ['backend1', 'backend2', 'proxy'];

describe('deploying in stages (--build-only, --create-only, --copy-only)', function () {
  this.timeout(120_000);
  let ws: Workspace;

  before(async () => {
    ws = await makeWorkspace('apache');
    // Systems of their own, so that --build-only has something to build whatever this store already holds.
    const network = await ws.read('network.nix');
    const tag = `${process.pid}-${Date.now()}`;
    const tagged = network
      .replace('<h1>${name}', `<h1>${tag} \${name}`)
      .replace('"httpd/proxy.conf".text = \'\'', `"httpd/proxy.conf".text = ''\n      # ${tag}`);
    assert.equal(tagged.split(tag).length, 3, 'both the backends and the proxy are tagged');
    await ws.write('network.nix', tagged);
  });
  after(async () => {
    await ws?.dispose();
  });

  it('--build-only builds every system here and creates nothing', async () => {
    const report = await ws.run('deploy', { stopAfter: 'build' });
    assert.equal(report.ok, true, report.message);
    assert.deepEqual(
      report.plan.actions.filter((a) => a.kind === 'build').map((a) => a.machine),
      MACHINES,
    );
    assert.match(report.message, /up to the build stage, 3 left to activate/);
    const systems = MACHINES.map((m) => report.machines[m]!.system!);
    assert.equal(new Set(systems).size, 3);
    assert.deepEqual(await ws.deps.store.validPaths(systems), new Set(systems));
    for (const m of MACHINES) {
      const r = report.machines[m]!;
      assert.equal(r.outcome, 'planned', `${m}: ${JSON.stringify(r)}`);
      assert.equal(r.built, true);
      assert.ok(!r.created && !r.copied);
    }
    const state = await ws.state();
    for (const m of MACHINES) assert.equal(state.machines[m]?.target, undefined, `${m} was created`);
  });

  it('--create-only creates the hosts and copies and activates nothing', async () => {
    const report = await ws.run('deploy', { stopAfter: 'create' });
    assert.equal(report.ok, true, report.message);
    for (const m of MACHINES) {
      const r = report.machines[m]!;
      assert.equal(r.created, true, m);
      assert.equal(r.outcome, 'planned', m);
      assert.ok(!r.copied);
      assert.deepEqual(await ws.activations(m), []);
    }
  });

  it('--copy-only copies the closures to the hosts and activates nothing', async () => {
    const report = await ws.run('deploy', { stopAfter: 'copy' });
    assert.equal(report.ok, true, report.message);
    for (const m of MACHINES) {
      const r = report.machines[m]!;
      assert.equal(r.outcome, 'planned', m);
      assert.ok((r.copied?.paths ?? 0) > 0, `${m} copied nothing`);
      assert.deepEqual(await ws.activations(m), []);
    }
  });

  it('a full deploy then activates without copying anything', async () => {
    const report = await ws.run('deploy');
    assert.equal(report.ok, true, report.message);
    for (const m of MACHINES) {
      const r = report.machines[m]!;
      assert.equal(r.outcome, 'activated', m);
      assert.equal(r.copied?.paths ?? 0, 0, `${m} copied again`);
      assert.equal((await ws.activations(m)).length, 1);
    }
  });

  it('exec reaches every machine at once, each line after its own name', async () => {
    const d = await ws.load();
    const found = await sshAccessAll(requestFor(d.name, d.spec, d.source, 'plan'), ws.deps);
    const targets: SshTarget[] = [...found].map(([machine, access]) => {
      assert.ok(!(access instanceof Error) && access.hostKey, `${machine}: ${String(access)}`);
      return { machine, access: { ...access, hostKey: access.hostKey }, keyFile: clientKeyFile(ws.stateDir) };
    });
    let out = '';
    const codes = await execAll(
      targets,
      ['readlink', '/run/current-system'],
      3,
      (t) => (out += t),
      () => {},
    );
    assert.deepEqual([...codes.values()], [0, 0, 0]);
    const state = await ws.state();
    for (const m of MACHINES) {
      assert.ok(out.includes(`${m.padEnd(8)} | ${state.machines[m]!.activated!.system}\n`), out);
    }
  });
});
