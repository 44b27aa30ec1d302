// /readyz and /healthz of a real `reconix controller --dir` process, on a real local host whose activation waits
// for a gate the test opens: not ready during the first reconcile, unhealthy while it runs too long.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually, makeWorkspace, type Workspace } from '../../support/workspace.js';
import { startController, type ControllerProcess } from './processes.js';

describe('the probes of a real directory controller process', function () {
  this.timeout(300_000);
  let ws: Workspace;
  let gate: string;
  let controller: ControllerProcess | undefined;

  before(async () => {
    ws = await makeWorkspace('trivial');
    await rm(join(ws.dir, 'none.yaml'));
    // The host shares this machine's /tmp: its activation announces itself, then waits for the gate to open.
    gate = await mkdtemp(join(tmpdir(), 'reconix-gate-'));
    const script = `touch ${gate}/started; while [ ! -e ${gate}/open ]; do sleep 0.2; done`;
    const net = await ws.read('network.nix');
    await ws.write(
      'network.nix',
      net.replace(
        'system.stateVersion',
        `system.activationScripts.gate = ${JSON.stringify(script)};\n      system.stateVersion`,
      ),
    );
  });
  after(async () => {
    if (gate) await writeFile(join(gate, 'open'), '').catch(() => undefined);
    await controller?.stop();
    await ws?.dispose();
    if (gate) await rm(gate, { recursive: true, force: true });
  });

  it('is not ready until the first reconcile ends, and not healthy while it runs past --stuck-after', async () => {
    // GIVEN a controller that calls a reconcile stuck after 15 s
    controller = await startController(ws.dir, ws.stateDir, ['--stuck-after', '15s']);
    // THEN it is live but not ready while the first reconcile runs
    assert.equal((await controller.get('/healthz')).status, 200);
    assert.equal((await controller.get('/readyz')).status, 503);
    await eventually('the activation to start', async () => existsSync(join(gate, 'started')), 120_000);
    const waiting = await controller.get('/readyz');
    assert.deepEqual(waiting, { status: 503, body: 'waiting for the first reconcile of trivial-local\n' });

    // WHEN the activation hangs past the threshold, THEN /healthz fails and says which reconcile is stuck
    const stuck = await eventually(
      '/healthz to fail',
      async () => {
        const r = await controller!.get('/healthz');
        return r.status === 503 && r;
      },
      60_000,
      250,
    );
    assert.match(stuck.body, /^reconcile running longer than 15 s: trivial-local \(\d+ s\)\n$/);
    assert.equal((await controller.get('/readyz')).status, 503);

    // WHEN the activation goes on, THEN the reconcile ends: ready and healthy
    await writeFile(join(gate, 'open'), '');
    await eventually(
      '/readyz to pass',
      async () => (await controller!.get('/readyz')).status === 200,
      60_000,
    );
    assert.equal((await controller.get('/healthz')).status, 200);
    assert.equal((await ws.activations('machine')).length, 1);
  });
});
