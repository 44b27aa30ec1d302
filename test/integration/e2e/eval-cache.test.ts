// The evaluation cache on real local hosts: a repeated deploy evaluates nothing; an edited imported file, an
// edited argument or a host that came back at another address evaluates again and deploys the change.
import assert from 'node:assert/strict';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { destroy } from '../../../src/apply/operations.js';
import { reconcileDeployment } from '../../../src/reconcile/reconciler.js';
import type { ReconcileDeps } from '../../../src/observe/run.js';
import { requestFor } from '../../../src/source/deployments.js';
import { countedEvaluations, type CountingEvaluator } from '../../support/counting-evaluator.js';
import { makeWorkspace, type Workspace } from '../../support/workspace.js';

describe('deploying with the evaluation cache', function () {
  this.timeout(300_000);
  let ws: Workspace;
  let counted: CountingEvaluator;
  let deps: ReconcileDeps;
  let reserved: string | undefined;

  const deploy = async () => {
    const d = await ws.load();
    return reconcileDeployment(requestFor(d.name, d.spec, d.source, 'deploy'), deps);
  };
  const evaluations = async (run: () => Promise<unknown>) => {
    const before = counted.calls;
    await run();
    return counted.calls - before;
  };
  const activated = async () => {
    const report = await deploy();
    assert.equal(report.ok, true, report.message);
    return Object.keys(report.machines)
      .filter((m) => report.machines[m]!.outcome === 'activated')
      .sort();
  };

  before(async () => {
    ws = await makeWorkspace('apache');
    ({ deps, counted } = countedEvaluations(ws.deps, ws.stateDir));
    await mkdir(join(ws.dir, 'modules'));
    await ws.write('modules/motd.nix', '{ environment.etc.motd.text = "first"; }\n');
    const net = await ws.read('network.nix');
    await ws.write(
      'network.nix',
      net.replace(
        'backend2 = backend "backend2";',
        'backend2 = { imports = [ (backend "backend2") ./modules/motd.nix ]; };',
      ),
    );
    assert.notEqual(await ws.read('network.nix'), net, 'the network imports modules/motd.nix');
  });
  after(async () => {
    if (reserved) await rm(reserved, { force: true });
    await ws?.dispose();
  });

  it('evaluates on the first deploy and not at all on a repeated one', async () => {
    assert.ok((await evaluations(activated)) >= 2, 'the physical view and the systems are evaluated');
    let again: string[] = [];
    assert.equal(await evaluations(async () => (again = await activated())), 0);
    assert.deepEqual(again, []);
  });

  it('evaluates again after an imported file is edited, and activates the machine that imports it', async () => {
    await ws.write('modules/motd.nix', '{ environment.etc.motd.text = "second"; }\n');
    let changed: string[] = [];
    assert.ok((await evaluations(async () => (changed = await activated()))) > 0);
    assert.deepEqual(changed, ['backend2']);
    const system = (await ws.state()).machines.backend2!.activated!.system;
    assert.equal(await readFile(join(system, 'etc/motd'), 'utf8'), 'second');
    assert.equal(await evaluations(activated), 0);
  });

  it('evaluates again after an argument is edited, and activates what it changes', async () => {
    await ws.write(
      'local.yaml',
      (await ws.read('local.yaml')).replace('domain: example.org', 'domain: example.net'),
    );
    let changed: string[] = [];
    assert.ok((await evaluations(async () => (changed = await activated()))) > 0);
    assert.ok(changed.includes('backend1') && changed.includes('backend2'), changed.join(', '));
    assert.equal(await evaluations(activated), 0);
  });

  it("evaluates again when a host comes back at another address, and gives the proxy the backend's new one", async () => {
    const d = await ws.load();
    const old = (await ws.state()).machines.backend1!.endpoint!.host;
    await destroy({ ...requestFor(d.name, d.spec, d.source, 'deploy'), include: ['backend1'] }, deps);
    // Hold the old address, so that the new host cannot get it back.
    reserved = join(ws.stateDir, 'hosts', 'addresses', old);
    await writeFile(reserved, 'held by the test', { flag: 'wx' });
    let changed: string[] = [];
    assert.ok((await evaluations(async () => (changed = await activated()))) > 0);
    const state = await ws.state();
    const now = state.machines.backend1!.endpoint!.host;
    assert.notEqual(now, old);
    assert.ok(changed.includes('proxy'), changed.join(', '));
    const conf = await readFile(
      join(state.machines.proxy!.activated!.system, 'etc/httpd/proxy.conf'),
      'utf8',
    );
    assert.ok(conf.includes(`http://${now}:80`), conf);
    assert.equal(await evaluations(activated), 0);
  });
});
