// The fleet page in Kubernetes mode, against a real API server: /fleet.json on the controller's metrics server shows
// a NixDeployment, including a failure that happens before the reconciler core runs (its SSH key Secret missing).
import assert from 'node:assert/strict';
import { stringify } from 'yaml';
import { FleetBoard } from '../../../src/fleet/board.js';
import type { FleetView } from '../../../src/fleet/view.js';
import { startController, startKubeEnv, until, type ControllerUnderTest, type KubeEnv } from './harness.js';

describe('the fleet page of the Kubernetes controller (real kube-apiserver)', function () {
  this.timeout(300_000);
  let env: KubeEnv | undefined;
  let ctl: ControllerUnderTest | undefined;

  before(async () => {
    env = await startKubeEnv();
    ctl = await startController(env, { fleet: new FleetBoard() });
  });
  after(async () => {
    await ctl?.cleanup();
    await env?.cleanup();
  });

  it('shows a NixDeployment whose SSH key Secret is missing as failed, with the reason', async () => {
    await env!.kubectl(
      ['apply', '-f', '-'],
      stringify({
        apiVersion: 'reconix.dev/v1alpha1',
        kind: 'NixDeployment',
        metadata: { name: 'web', namespace: 'default' },
        spec: {
          network: { inline: { 'network.nix': '{ web = { deployment.targetEnv = "local"; }; }\n' } },
          builder: 'mini',
          sshKeySecretRef: { name: 'absent', key: 'id_ed25519' },
        },
      }),
    );
    const url = `http://127.0.0.1:${ctl!.running.server.port}/fleet.json`;
    const d = await until('the deployment failed in /fleet.json', async () => {
      const view = (await (await fetch(url)).json()) as FleetView;
      const found = view.deployments.find((x) => x.name.endsWith('web'));
      return found?.state === 'failed' ? found : undefined;
    });
    assert.ok(d.reason, 'a reason');
    assert.match(d.message ?? '', /absent/);
    assert.equal((await fetch(`http://127.0.0.1:${ctl!.running.server.port}/`)).status, 200);
  });
});
