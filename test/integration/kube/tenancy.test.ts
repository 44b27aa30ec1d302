// A NixDeployment gets nothing of the controller's own: without a key Secret it has no SSH key (a host that
// trusts only the controller's key sees no login), deployment.sshKeyFile is refused, and without an AWS
// credentials Secret nothing reaches AWS unless the controller runs with ambient credentials allowed.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ListBucketsCommand } from '@aws-sdk/client-s3';
import { run } from '../../../src/util/exec.js';
import { createTestHost, makeClientKey, type ClientKey, type TestHost } from '../../support/hosts.js';
import { motoInstalled, startMoto, type Moto } from '../../support/moto.js';
import {
  sshKeySecret,
  startController,
  startKubeEnv,
  until,
  type ControllerUnderTest,
  type KubeEnv,
} from './harness.js';
import { nixDeployment } from './fixtures.js';

type Cond = { type: string; status: string; reason: string; message: string };
type Obj = { status?: { conditions?: Cond[] } };

const AWS_CALLS = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE'];

describe('Kubernetes mode gives a NixDeployment no authority of the controller (real kube-apiserver)', function () {
  this.timeout(600_000);
  let env: KubeEnv;
  let moto: Moto | undefined;
  let host: TestHost;
  let ownKey: ClientKey;
  let ctl: ControllerUnderTest | undefined;
  let controllerKeyFile: string;
  const calls: string[] = [];
  const saved: Record<string, string | undefined> = {};

  const failed = async (name: string, why: RegExp) => {
    let last: Cond | undefined;
    return until(`${name} not Ready, saying ${why.source} (last: ${JSON.stringify(last)})`, async () => {
      const o = await env.getJson<Obj>('nixdeployment', name);
      last = o?.status?.conditions?.find((c) => c.type === 'Ready');
      return last?.status === 'False' && why.test(last.message) && last;
    }).catch((err: Error) => {
      throw new Error(`${err.message}; last Ready condition: ${JSON.stringify(last)}`);
    });
  };
  const ready = (name: string) =>
    until(
      `${name} Ready`,
      async () => {
        const o = await env.getJson<Obj>('nixdeployment', name);
        return o?.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
      },
      120_000,
    );
  const logins = async () =>
    (await readFile(join(host.dir, 'sshd.log'), 'utf8')).split('\n').filter((l) => /Accepted/.test(l));
  const machine = (extra = '') =>
    `{ web = { deployment.targetEnv = "none"; deployment.targetHost = "${host.address}"; ` +
    `deployment.hostPublicKey = "${host.hostKey}"; ${extra} }; }`;
  const bucket = (name: string) => `{ resources.s3Buckets.b = { region = "us-east-1"; name = "${name}"; }; }`;
  const startWith = async (allowAmbientAwsCredentials: boolean) => {
    await ctl?.cleanup();
    const hook = { before: (c: { command: string }) => void calls.push(c.command), after: () => undefined };
    ctl = await startController(env, {
      allowAmbientAwsCredentials,
      ...(moto ? { baseAws: { endpoint: moto.endpoint, hooks: [hook] } } : {}),
    });
    controllerKeyFile = join(ctl.stateDir, 'keys', 'client_ed25519');
  };

  before(async function () {
    if (process.getuid?.() !== 0) this.skip();
    // The controller's own environment holds AWS credentials that moto accepts: only a refusal keeps them out.
    for (const k of AWS_CALLS) saved[k] = process.env[k];
    process.env.AWS_ACCESS_KEY_ID = 'controller-own';
    process.env.AWS_SECRET_ACCESS_KEY = 'controller-own-secret';
    if (motoInstalled()) moto = await startMoto();
    env = await startKubeEnv();
    await startWith(false);
    // The host trusts the controller's key and nothing else.
    const controllerPub = (await readFile(`${controllerKeyFile}.pub`, 'utf8')).trim();
    host = await createTestHost({ clientPublicKey: controllerPub });
    ownKey = await makeClientKey();
  });
  after(async () => {
    await ctl?.cleanup();
    await host?.destroy();
    await ownKey?.cleanup();
    await env?.cleanup();
    await moto?.stop();
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  it('fails a deployment without spec.sshKeySecretRef, and never logs in with the controller key', async () => {
    await env.kubectl(['apply', '-f', '-'], nixDeployment('keyless', machine()));
    const c = await failed('keyless', /spec\.sshKeySecretRef is required in Kubernetes mode/);
    assert.match(c.message, /web/);
    assert.deepEqual(await logins(), []);
    // The host does log logins: the controller's key itself gets in, so the empty list above means something.
    await run('ssh', [
      ...['-i', controllerKeyFile, '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null'],
      ...['-o', 'BatchMode=yes', `root@${host.address}`, 'true'],
    ]);
    await until('the login in the host log', async () => (await logins()).length === 1);
    await env.kubectl(['delete', 'nixd', 'keyless', '--wait=true', '--timeout=120s']);
  });

  it("refuses deployment.sshKeyFile, naming the machine, even when it names the controller's key", async () => {
    await sshKeySecret(env, 'default', 'own-ssh', ownKey.privateKey);
    const before = (await logins()).length;
    await env.kubectl(
      ['apply', '-f', '-'],
      nixDeployment('keyfile', machine(`deployment.sshKeyFile = "${controllerKeyFile}";`), {
        sshKeySecretRef: { name: 'own-ssh', key: 'id_ed25519' },
      }),
    );
    const c = await failed('keyfile', /sshKeyFile .* is not allowed in Kubernetes mode/);
    assert.match(c.message, /web/);
    assert.equal((await logins()).length, before);
    await env.kubectl(['delete', 'nixd', 'keyfile', '--wait=true', '--timeout=120s']);
  });

  it('fails AWS resources without spec.awsCredentialsSecretRef, and AWS sees no call', async function () {
    if (!moto) this.skip();
    calls.length = 0;
    await env.kubectl(['apply', '-f', '-'], nixDeployment('nocreds', bucket('reconix-tenancy-refused')));
    await failed('nocreds', /spec\.awsCredentialsSecretRef is required in Kubernetes mode/);
    assert.deepEqual(calls, []);
    const buckets = await moto.clients().s3('us-east-1').send(new ListBucketsCommand({}));
    assert.deepEqual(buckets.Buckets ?? [], []);
    await env.kubectl(['delete', 'nixd', 'nocreds', '--wait=true', '--timeout=120s']);
  });

  it("uses the controller's AWS credentials when it runs with --allow-ambient-aws-credentials", async function () {
    if (!moto) this.skip();
    await startWith(true);
    await env.kubectl(['apply', '-f', '-'], nixDeployment('ambient', bucket('reconix-tenancy-ambient')));
    await ready('ambient');
    assert.ok(
      calls.includes('CreateBucketCommand') || calls.some((c) => /CreateBucket/.test(c)),
      calls.join(),
    );
    const buckets = await moto.clients().s3('us-east-1').send(new ListBucketsCommand({}));
    assert.deepEqual(
      buckets.Buckets?.map((b) => b.Name),
      ['reconix-tenancy-ambient'],
    );
    await env.kubectl(['delete', 'nixd', 'ambient', '--wait=true', '--timeout=120s']);
  });
});
