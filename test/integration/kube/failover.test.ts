// Failover with real machines: controller A deploys two hosts and an EC2 machine with a key pair (moto, bound to a
// test host); A is stopped by its PID, and B, with an empty working directory, takes the Lease and reaches every
// machine, because the keys the controller made live in a Secret owned by the NixDeployment, not on A's disk.
import assert from 'node:assert/strict';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DescribeKeyPairsCommand } from '@aws-sdk/client-ec2';
import { stringify } from 'yaml';
import { createTestHost, makeClientKey, type ClientKey, type TestHost } from '../../support/hosts.js';
import { MOTO_ENV, motoInstalled, startMoto, type Moto } from '../../support/moto.js';
import { sshKeySecret, startKubeEnv, until, type KubeEnv } from './harness.js';
import { startReplica, type Replica } from './replicas.js';

const R = 'eu-west-1';
type Obj = {
  metadata: { uid: string; generation: number };
  status?: { observedGeneration?: number; conditions?: { type: string; status: string; message: string }[] };
};

const network = (hosts: Record<string, TestHost>, version: string) => {
  const none = (m: string) =>
    `${m} = { deployment.targetEnv = "none"; deployment.targetHost = "${hosts[m]!.address}"; ` +
    `deployment.hostPublicKey = "${hosts[m]!.hostKey}"; environment.etc.version.text = "${version}"; };`;
  return `{
  network.description = "failover";
  resources.ec2KeyPairs.kp = { region = "${R}"; };
  ${none('web1')}
  ${none('web2')}
  cloud = { resources, ... }: {
    deployment.targetEnv = "ec2";
    deployment.ec2 = { region = "${R}"; ami = "ami-12c6146b"; instanceType = "t3.micro"; keyPair = resources.ec2KeyPairs.kp; };
    environment.etc.version.text = "${version}";
  };
}`;
};

const manifest = (hosts: Record<string, TestHost>, version: string) =>
  stringify({
    apiVersion: 'reconix.dev/v1alpha1',
    kind: 'NixDeployment',
    metadata: { name: 'fleet', namespace: 'default' },
    spec: {
      network: { inline: { 'network.nix': network(hosts, version) } },
      builder: 'mini',
      interval: '1h',
      retryInterval: '2s',
      sshKeySecretRef: { name: 'ssh', key: 'id_ed25519' },
      awsCredentialsSecretRef: { name: 'aws' },
    },
  });

describe('failover to a replica with an empty working directory (real kube-apiserver, moto, test hosts)', function () {
  this.timeout(600_000);
  let env: KubeEnv;
  let moto: Moto;
  let key: ClientKey;
  let hosts: Record<string, TestHost> = {};
  const replicas: Replica[] = [];
  let mapFile: string;

  const start = async (name: string) => {
    const r = await startReplica(name, {
      kubeconfig: env.kube.kubeconfigPath,
      env: { ...MOTO_ENV, AWS_ENDPOINT_URL: moto.endpoint, TEST_CLI_ADDRESS_MAP: mapFile },
    });
    replicas.push(r);
    return r;
  };
  const readyAt = (generation: number) =>
    until(
      `fleet Ready at generation ${generation}`,
      async () => {
        const o = await env.getJson<Obj>('nixd', 'fleet');
        const ready = o?.status?.conditions?.find((c) => c.type === 'Ready');
        return o?.status?.observedGeneration === generation && ready?.status === 'True' && o;
      },
      240_000,
      500,
    );
  const versionOn = async (h: TestHost) => {
    const system = await h.currentSystem();
    return system ? readFile(join(system, 'etc/version'), 'utf8') : undefined;
  };

  before(async function () {
    if (process.getuid?.() !== 0 || !motoInstalled()) this.skip();
    moto = await startMoto();
    env = await startKubeEnv();
    key = await makeClientKey();
    for (const m of ['web1', 'web2', 'cloud'])
      hosts[m] = await createTestHost({ clientPublicKey: key.publicKey });
    mapFile = join(key.file, '..', 'map.json');
    const c = hosts.cloud!;
    await writeFile(
      mapFile,
      JSON.stringify({ cloud: { host: c.address, port: c.port, user: 'root', hostPublicKey: c.hostKey } }),
    );
    await sshKeySecret(env, 'default', 'ssh', key.privateKey);
    await env.kubectl(
      ['apply', '-f', '-'],
      stringify({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'aws', namespace: 'default' },
        stringData: { AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing' },
      }),
    );
  });

  after(async () => {
    for (const r of replicas) await r.stop();
    for (const h of Object.values(hosts)) await h.destroy();
    hosts = {};
    await key?.cleanup();
    await env?.cleanup();
    await moto?.stop();
  });

  it('lets the new leader reach every machine with the keys the old one made', async () => {
    const a = await start('a');
    await until('a to lead', async () => a.leads(), 60_000);
    await env.kubectl(['apply', '-f', '-'], manifest(hosts, 'one'));
    const first = await readyAt(1);
    for (const [m, h] of Object.entries(hosts))
      assert.equal(await versionOn(h), 'one', `${m} runs version one`);

    // THEN the key pair's private key is in a Secret owned by the object, and nowhere in A's directory
    const secret = await env.getJson<{
      metadata: { ownerReferences?: { uid: string; kind: string }[] };
      data: Record<string, string>;
    }>('secret', 'reconix-keys-fleet');
    assert.ok(secret, 'the keys Secret exists');
    assert.deepEqual(
      secret.metadata.ownerReferences?.map((o) => [o.kind, o.uid]),
      [['NixDeployment', first.metadata.uid]],
    );
    const privateKeys = Object.values(secret.data).map((v) => Buffer.from(v, 'base64').toString('utf8'));
    assert.ok(privateKeys.some((k) => k.includes('BEGIN OPENSSH PRIVATE KEY')));
    assert.deepEqual(await readdir(join(a.stateDir, 'secrets')).catch(() => []), []);
    const pairs = await moto.clients().ec2(R).send(new DescribeKeyPairsCommand({}));
    assert.equal(pairs.KeyPairs?.length, 1);

    // WHEN A is stopped by its PID and B, with a fresh directory, takes over and a spec change comes
    await a.stop();
    const b = await start('b');
    await until('b to lead', async () => b.leads(), 60_000);
    await env.kubectl(['apply', '-f', '-'], manifest(hosts, 'two'));
    await readyAt(2);

    // THEN B activated the change on every machine, with the same key pair, and never showed a key
    for (const [m, h] of Object.entries(hosts))
      assert.equal(await versionOn(h), 'two', `${m} runs version two`);
    const after = await moto.clients().ec2(R).send(new DescribeKeyPairsCommand({}));
    assert.deepEqual(
      after.KeyPairs?.map((k) => k.KeyPairId),
      pairs.KeyPairs?.map((k) => k.KeyPairId),
    );
    const shown = [
      await env.kubectl(['get', 'nixd', 'fleet', '-o', 'yaml']),
      await env.kubectl(['get', 'events', '-A', '-o', 'yaml']),
      await env.kubectl(['get', 'configmaps', '-A', '-o', 'yaml']),
      a.lines.join('\n'),
      b.lines.join('\n'),
    ].join('\n');
    for (const k of privateKeys) {
      const body = k.split('\n')[1] ?? '';
      assert.ok(
        body.length > 20 && !shown.includes(body),
        'a private key appears in status, events, state or logs',
      );
    }
  });
});
