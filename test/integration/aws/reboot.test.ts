// `reconix reboot` of an EC2 machine reboots the instance in place: moto must receive RebootInstances, and no
// StopInstances or StartInstances. The actions are read by a recording proxy between the CLI and moto, so the test
// sees what AWS would see, not what Reconix says it did.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clientKey } from '../../../src/cli/deps.js';
import { reconixUnderTest as reconix, type CliRun } from '../../support/cli.js';
import { createTestHost, type TestHost } from '../../support/hosts.js';
import { motoProxy } from '../../support/moto.js';
import { bindToHosts, useMoto } from './helpers.js';

const R = 'eu-west-1';

const network = `{
  network.description = "one machine on EC2";
  web = { ... }: {
    deployment.targetEnv = "ec2";
    deployment.ec2 = { region = "${R}"; ami = "ami-12c6146b"; instanceType = "t3.micro"; };
    system.stateVersion = "24.05";
  };
}
`;

const manifest = `apiVersion: reconix.dev/v1alpha1
kind: NixDeployment
metadata: { name: reboot-ec2 }
spec:
  network: { files: [network.nix] }
`;

interface Recorder {
  endpoint: string;
  /** The EC2 `Action` of every request forwarded since the last `clear()`, in order. */
  actions: string[];
  clear(): void;
  close(): Promise<void>;
}

/** A proxy in front of moto that records each EC2 request's Action. */
async function recordingProxy(target: string): Promise<Recorder> {
  const actions: string[] = [];
  const proxy = await motoProxy(target, (req, body) => {
    // EC2's query protocol sends its parameters form-encoded in the body (or the query string).
    const query = new URLSearchParams(body.toString('utf8'));
    const action = query.get('Action') ?? new URL(req.url ?? '/', 'http://x').searchParams.get('Action');
    if (action) actions.push(action);
    return undefined;
  });
  return { ...proxy, actions, clear: () => actions.splice(0) };
}

describe('reconix reboot of an EC2 machine', function () {
  this.timeout(300_000);
  const moto = useMoto(this, { resetEach: false });
  let dir: string;
  let host: TestHost | undefined;
  let proxy: Recorder | undefined;
  let run: (...args: string[]) => Promise<CliRun>;

  before(async function () {
    if (process.getuid?.() !== 0) this.skip();
    dir = await mkdtemp(join(tmpdir(), 'reconix-aws-reboot-'));
    const stateDir = join(dir, 'state');
    const key = await clientKey(stateDir);
    host = await createTestHost({ clientPublicKey: key.publicKey });
    await writeFile(join(dir, 'network.nix'), network);
    await writeFile(join(dir, 'reconix.yaml'), manifest);
    proxy = await recordingProxy(moto().endpoint);
    const env = await bindToHosts(dir, { web: host }, proxy.endpoint);
    run = (...args) => reconix(['--state-dir', stateDir, '-f', join(dir, 'reconix.yaml'), ...args], env);
  });

  after(async () => {
    if (run) await run('destroy');
    await proxy?.close();
    await host?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('sends RebootInstances to EC2, and neither StopInstances nor StartInstances', async () => {
    // GIVEN a deployed machine
    const deploy = await run('deploy');
    assert.equal(deploy.code, 0, deploy.stdout + deploy.stderr);
    assert.ok(
      proxy!.actions.includes('RunInstances'),
      `the proxy saw the launch: ${proxy!.actions.join(' ')}`,
    );
    proxy!.clear();
    // WHEN it is rebooted
    const reboot = await run('reboot');
    assert.equal(reboot.code, 0, reboot.stdout + reboot.stderr);
    // THEN EC2 was asked to reboot it in place
    const actions = proxy!.actions;
    assert.deepEqual(
      actions.filter((a) => a === 'RebootInstances'),
      ['RebootInstances'],
      actions.join(' '),
    );
    assert.deepEqual(
      actions.filter((a) => a === 'StopInstances' || a === 'StartInstances'),
      [],
      actions.join(' '),
    );
  });
});
