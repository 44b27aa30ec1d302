// Deleting a NixDeployment destroys what it created and nothing else, whatever its state ConfigMap (which its team
// can edit) says: recorded ids pointed at another deployment's bucket and security group, and its local host's
// directory pointed at another directory, leave those alone while its own bucket, group and host go.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateSecurityGroupCommand, DescribeSecurityGroupsCommand } from '@aws-sdk/client-ec2';
import { CreateBucketCommand, ListBucketsCommand, PutBucketTaggingCommand } from '@aws-sdk/client-s3';
import { stringify } from 'yaml';
import { awsDepsFor } from '../../../src/cli/kube.js';
import { hostDirName } from '../../../src/providers/local/layout.js';
import { makeClientKey, type ClientKey } from '../../support/hosts.js';
import { motoInstalled, startMoto, type Moto } from '../../support/moto.js';
import {
  sshKeySecret,
  startController,
  startKubeEnv,
  until,
  type ControllerUnderTest,
  type KubeEnv,
} from './harness.js';

const R = 'us-east-1';
const network = `{
  web = { deployment.targetEnv = "local"; environment.etc."greeting".text = "mine"; };
  resources.s3Buckets.logs = { region = "${R}"; name = "reconix-owner-logs"; };
  resources.ec2SecurityGroups.admin = { region = "${R}"; rules = [ { fromPort = 22; sourceIp = "10.0.0.0/8"; } ]; };
}`;

const manifest = stringify({
  apiVersion: 'reconix.dev/v1alpha1',
  kind: 'NixDeployment',
  metadata: { name: 'owner', namespace: 'default' },
  spec: {
    network: { inline: { 'network.nix': network } },
    builder: 'mini',
    interval: '1h',
    retryInterval: '1s',
    sshKeySecretRef: { name: 'owner-ssh', key: 'id_ed25519' },
    awsCredentialsSecretRef: { name: 'owner-aws' },
  },
});

type State = {
  machines: Record<string, { target?: Record<string, unknown> }>;
  resources: Record<string, { id?: string; facts: Record<string, unknown> }>;
};

describe('a deployment destroys only what carries its tags (real kube-apiserver, moto, local hosts)', function () {
  this.timeout(600_000);
  let env: KubeEnv;
  let moto: Moto;
  let ctl: ControllerUnderTest;
  let key: ClientKey;
  let elsewhere: string;

  before(async function () {
    if (!motoInstalled() || process.getuid?.() !== 0) this.skip();
    moto = await startMoto();
    env = await startKubeEnv();
    key = await makeClientKey();
    elsewhere = await mkdtemp(join(tmpdir(), 'reconix-not-owned-'));
    ctl = await startController(env, { depsFor: awsDepsFor('/nonexistent', { endpoint: moto.endpoint }) });
  });
  after(async () => {
    await ctl?.cleanup();
    await env?.cleanup();
    await moto?.stop();
    await key?.cleanup();
    if (elsewhere) await rm(elsewhere, { recursive: true, force: true });
  });

  it('leaves the objects and the directory an edited state names, and destroys its own', async () => {
    await sshKeySecret(env, 'default', 'owner-ssh', key.privateKey);
    await env.kubectl(
      ['apply', '-f', '-'],
      stringify({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'owner-aws', namespace: 'default' },
        stringData: { AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing' },
      }),
    );
    await env.kubectl(['apply', '-f', '-'], manifest);
    await until(
      'owner Ready',
      async () => {
        const o = await env.getJson<{ status?: { conditions?: { type: string; status: string }[] } }>(
          'nixdeployment',
          'owner',
        );
        return o?.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
      },
      300_000,
    );
    const ownHost = join(ctl.hostsDir, hostDirName('default.owner', 'web'));
    assert.ok(existsSync(ownHost));

    // Another deployment's objects, made directly in AWS with that deployment's tags, and a directory with a canary.
    const { s3: s3Of, ec2: ec2Of } = moto.clients();
    const s3 = s3Of(R);
    const ec2 = ec2Of(R);
    await s3.send(new CreateBucketCommand({ Bucket: 'reconix-victim-logs' }));
    const theirTags = (logical: string) => [
      { Key: 'reconix:deployment', Value: 'default.victim' },
      { Key: 'reconix:name', Value: logical },
    ];
    await s3.send(
      new PutBucketTaggingCommand({
        Bucket: 'reconix-victim-logs',
        Tagging: { TagSet: theirTags('s3Buckets.logs') },
      }),
    );
    const group = await ec2.send(
      new CreateSecurityGroupCommand({
        GroupName: 'victim-admin',
        Description: 'not the owner deployment',
        TagSpecifications: [{ ResourceType: 'security-group', Tags: theirTags('ec2SecurityGroups.admin') }],
      }),
    );
    const canary = join(elsewhere, 'canary');
    await writeFile(canary, 'still here');

    // The state ConfigMap, edited as its team could.
    const cm = JSON.parse(await env.kubectl(['get', 'configmap', 'reconix-state-owner', '-o', 'json'])) as {
      data: Record<string, string>;
    };
    const state = JSON.parse(cm.data['state.json']!) as State;
    state.resources['s3Buckets.logs']!.id = 'reconix-victim-logs';
    state.resources['ec2SecurityGroups.admin']!.id = group.GroupId!;
    state.machines.web!.target!.dir = elsewhere;
    cm.data['state.json'] = JSON.stringify(state);
    await env.kubectl(['replace', '-f', '-'], JSON.stringify(cm));

    await env.kubectl(['delete', 'nixd', 'owner', '--wait=true', '--timeout=240s']);

    assert.equal(await readFile(canary, 'utf8'), 'still here');
    const buckets = (await s3.send(new ListBucketsCommand({}))).Buckets?.map((b) => b.Name);
    assert.deepEqual(buckets, ['reconix-victim-logs']);
    const groups = await ec2.send(new DescribeSecurityGroupsCommand({}));
    const names = (groups.SecurityGroups ?? []).map((g) => g.GroupName).filter((n) => n !== 'default');
    assert.deepEqual(names, ['victim-admin']);
    assert.equal(existsSync(ownHost), false);
    assert.ok(
      ctl.log.lines.some((l) => /refusing to destroy/.test(l) && l.includes('reconix-victim-logs')),
      'the refusal is logged',
    );
  });
});
