// AWS credentials from a Kubernetes Secret reach the AWS clients of that deployment, and nowhere else.
import assert from 'node:assert/strict';
import { ListBucketsCommand } from '@aws-sdk/client-s3';
import { stringify } from 'yaml';
import { awsDepsFor } from '../../../src/cli/kube.js';
import { startMoto, motoInstalled, type Moto } from '../../support/moto.js';
import { startController, startKubeEnv, until, type ControllerUnderTest, type KubeEnv } from './harness.js';

type Obj = { status?: { conditions?: { type: string; status: string; reason: string; message: string }[] } };

const SECRET_KEY = 'sEcReT-aws-key-0123456789-never-shown';

const manifest = stringify({
  apiVersion: 'reconix.dev/v1alpha1',
  kind: 'NixDeployment',
  metadata: { name: 'buckets', namespace: 'default' },
  spec: {
    network: {
      inline: {
        'network.nix': `{
  network.description = "a bucket";
  resources.s3Buckets.logs = { region = "us-east-1"; name = "reconix-kube-secret-test"; };
}`,
      },
    },
    builder: 'mini',
    interval: '1h',
    retryInterval: '1s',
    awsCredentialsSecretRef: { name: 'aws' },
  },
});

describe('AWS credentials from a Secret (real kube-apiserver, moto)', function () {
  this.timeout(300_000);
  let env: KubeEnv;
  let moto: Moto;
  let ctl: ControllerUnderTest;
  const saved: Record<string, string | undefined> = {};

  before(async function () {
    if (!motoInstalled()) this.skip();
    moto = await startMoto();
    // The controller's own environment has no credentials: only the Secret's can make the bucket.
    for (const k of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE']) {
      saved[k] = process.env[k];
      delete process.env[k];
    }
    env = await startKubeEnv();
    ctl = await startController(env, { depsFor: awsDepsFor('/nonexistent', { endpoint: moto.endpoint }) });
  });
  after(async () => {
    await ctl?.cleanup();
    await env?.cleanup();
    await moto?.stop();
    for (const [k, v] of Object.entries(saved)) if (v !== undefined) process.env[k] = v;
  });

  it('creates the bucket with the credentials of the Secret and never shows the key', async () => {
    await env.kubectl(['apply', '-f', '-'], manifest);
    // Without the Secret the deployment waits, saying which Secret is missing.
    const waiting = await until('a condition naming the missing Secret', async () => {
      const o = await env.getJson<Obj>('nixdeployment', 'buckets');
      const ready = o?.status?.conditions?.find((c) => c.type === 'Ready');
      return ready?.status === 'False' && /aws/.test(ready.message) && ready;
    });
    assert.doesNotMatch(waiting.message, new RegExp(SECRET_KEY));

    await env.kubectl(
      ['apply', '-f', '-'],
      stringify({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'aws', namespace: 'default' },
        stringData: { AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: SECRET_KEY },
      }),
    );
    await env.kubectl(['annotate', 'nixd/buckets', `reconix.dev/requestedAt=${Date.now()}`, '--overwrite']);
    await until(
      'Ready=True',
      async () => {
        const o = await env.getJson<Obj>('nixdeployment', 'buckets');
        return o?.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
      },
      120_000,
    );
    const buckets = await moto.clients().s3('us-east-1').send(new ListBucketsCommand({}));
    assert.deepEqual(
      buckets.Buckets?.map((b) => b.Name),
      ['reconix-kube-secret-test'],
    );

    const everything = [
      await env.kubectl(['get', 'nixd', 'buckets', '-o', 'yaml']),
      await env.kubectl(['get', 'events', '-A', '-o', 'yaml']),
      await env.kubectl(['get', 'configmaps', '-A', '-o', 'yaml']),
      ctl.log.lines.join('\n'),
    ].join('\n');
    assert.ok(!everything.includes(SECRET_KEY), 'the secret key appears in status, events, state or logs');

    // Deleting the object destroys the bucket first.
    await env.kubectl(['delete', 'nixd', 'buckets', '--wait=true', '--timeout=120s']);
    const after = await moto.clients().s3('us-east-1').send(new ListBucketsCommand({}));
    assert.deepEqual(after.Buckets ?? [], []);
  });
});
