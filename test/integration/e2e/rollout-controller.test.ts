// A rollout paused under `reconix controller --dir`: the controller killed by its PID and restarted resumes at
// the right wave once resumed, re-activating nothing already done; and an http health check against a small
// server on a loopback address.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { reconix } from '../../support/cli.js';
import { eventually, makeWorkspace, type Workspace } from '../../support/workspace.js';
import { startController, type ControllerProcess } from '../prometheus/processes.js';

const network = `{ gen ? "1", ... }:
{
  network.description = "waves under a controller";
  defaults = { ... }: {
    deployment.targetEnv = "local";
    deployment.healthChecks = [ { cmd = "test -e /run/current-system/etc/generation"; retries = 0; } ];
    environment.etc."generation".text = gen;
    system.stateVersion = "24.05";
  };
  a = { ... }: { };
  b = { ... }: { };
  c = { ... }: { };
}
`;
const manifest = (gen: string, rollout: string) => `apiVersion: reconix.dev/v1alpha1
kind: NixDeployment
metadata: { name: paused }
spec:
  network: { files: [network.nix], args: { gen: "${gen}" } }
  builder: mini
  interval: 1s
  rollout: ${rollout}
`;

describe('a rollout under the directory controller', function () {
  this.timeout(600_000);
  let ws: Workspace;
  let controller: ControllerProcess | undefined;
  let server: Server | undefined;

  before(async () => {
    ws = await makeWorkspace('trivial');
    await ws.write('network.nix', network);
    await ws.write('local.yaml', manifest('1', '{ strategy: { waves: [{ count: 1 }] } }'));
    const first = await ws.run('deploy');
    assert.equal(first.ok, true, first.message);
  });
  after(async () => {
    await controller?.stop();
    await new Promise((r) => (server ? server.close(r) : r(undefined)));
    await ws?.dispose();
  });

  it('resumes at the paused wave after being killed and restarted, re-activating nothing done', async () => {
    // GIVEN generation 2 rolled out by the controller, paused after its first wave
    await ws.write(
      'local.yaml',
      manifest('2', '{ strategy: { waves: [{ count: 1, pause: true }, { count: 1 }] } }'),
    );
    controller = await startController(ws.dir, ws.stateDir);
    await eventually(
      'the rollout to pause',
      async () => (await ws.state('paused')).rollout?.state === 'paused',
      120_000,
    );
    const counts = async () => ({
      a: (await ws.activations('a', 'paused')).length,
      b: (await ws.activations('b', 'paused')).length,
    });
    const paused = await counts();
    // WHEN it is killed by its PID and started again
    await controller.kill();
    controller = await startController(ws.dir, ws.stateDir);
    // THEN two reconciles later it is still paused, b not activated
    await eventually(
      'two reconciles after the restart',
      async () => (controller!.log().match(/"reason":"RolloutPaused"/g) ?? []).length >= 2,
      120_000,
    );
    assert.equal((await ws.state('paused')).rollout?.state, 'paused');
    assert.deepEqual(await counts(), paused);
    // WHEN resumed
    const resume = await reconix(['--state-dir', ws.stateDir, 'rollout', 'resume', 'paused']);
    assert.equal(resume.code, 0, resume.stderr);
    // THEN the waves left roll out and a is not activated again
    await eventually(
      'the rollout to complete',
      async () => (await ws.state('paused')).rollout?.state === 'complete',
      120_000,
    );
    const done = await counts();
    assert.equal(done.a, paused.a);
    assert.equal(done.b, paused.b + 1);
    await controller.stop();
    controller = undefined;
  });

  it('fails a wave whose http check the server refuses, and passes once it answers', async () => {
    let status = 503;
    server = createServer((_req, res) => {
      res.writeHead(status);
      res.end(status === 200 ? 'healthy\n' : 'starting\n');
    });
    // On machine a's own loopback address, which {{address}} in the URL stands for.
    const address = (await ws.state('paused')).machines.a?.endpoint?.host;
    assert.match(address ?? '', /^127\./);
    await new Promise<void>((r) => server!.listen(0, address, r));
    const port = (server.address() as { port: number }).port;
    const rollout = `{ strategy: { waves: [{ count: 1 }] }, healthChecks: [{ machines: a, checks: [{ http: { url: "http://{{address}}:${port}/healthz", body: healthy }, retries: 0 }] }] }`;
    await ws.write('local.yaml', manifest('3', rollout));
    const failed = await ws.run('deploy');
    assert.equal(failed.ok, false);
    assert.equal(failed.rollout?.failed?.machine, 'a');
    assert.match(
      failed.message,
      new RegExp(
        `check http http://\\{\\{address\\}\\}:${port}/healthz: http://${address}:${port}/healthz answered 503, not 200`,
      ),
    );
    status = 200;
    const passed = await ws.run('deploy', { retryFailedRollout: true });
    assert.equal(passed.ok, true, passed.message);
    assert.equal(passed.rollout?.state, 'complete');
  });
});
