// The AWS resource manager against moto: create in dependency order, leave alone, update in place, replace,
// adopt after a lost state, destroy in reverse order.
import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import {
  CreateSecurityGroupCommand,
  DescribeKeyPairsCommand,
  DescribeSecurityGroupsCommand,
  ImportKeyPairCommand,
} from '@aws-sdk/client-ec2';
import {
  CreateBucketCommand,
  GetBucketLifecycleConfigurationCommand,
  GetBucketPolicyCommand,
  GetBucketTaggingCommand,
  GetBucketVersioningCommand,
  ListBucketsCommand,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { Reason } from '../../../src/api/conditions.js';
import { ReconixError } from '../../../src/core/errors.js';
import { generateEd25519 } from '../../../src/providers/aws/keys.js';
import type { ResourceChange } from '../../../src/core/ports.js';
import { isMutating } from '../../support/aws-hooks.js';
import { listEverything } from '../../support/aws-listings.js';
import { useMoto, useWorld, view } from './helpers.js';

const R = 'eu-west-1';
const policy = (bucket: string) =>
  JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: `arn:aws:s3:::${bucket}/*` },
    ],
  });

function network(over: { rules?: unknown[]; description?: string; bucket?: Record<string, unknown> } = {}) {
  return view({
    ec2KeyPairs: { kp: { region: R } },
    ec2SecurityGroups: {
      web: {
        region: R,
        description: over.description ?? 'web servers',
        rules: over.rules ?? [
          { fromPort: 80, toPort: 80, sourceIp: '0.0.0.0/0' },
          { fromPort: 22, toPort: 22, sourceGroup: { _ref: 'ec2SecurityGroups.admin' } },
        ],
      },
      admin: { region: R, rules: [{ fromPort: 22, sourceIp: '10.0.0.0/8' }] },
    },
    ebsVolumes: { data: { region: R, zone: `${R}a`, size: 2, tags: { purpose: 'data' } } },
    elasticIPs: { ip: { region: R } },
    s3Buckets: {
      logs: {
        region: R,
        name: 'reconix-test-logs',
        policy: policy('reconix-test-logs'),
        versioning: 'Enabled',
        lifeCycle: JSON.stringify({
          Rules: [{ ID: 'expire', Status: 'Enabled', Filter: { Prefix: 'tmp/' }, Expiration: { Days: 7 } }],
        }),
        tags: { team: 'ops' },
        ...over.bucket,
      },
    },
  });
}

const byKey = (changes: ResourceChange[]) => Object.fromEntries(changes.map((c) => [c.resource, c]));

describe('AWS resources against moto', function () {
  this.timeout(120_000);
  const moto = useMoto(this);
  const w = useWorld(this, moto);

  it('creates every resource in dependency order, tagged, with ids and tokens recorded', async () => {
    const changes = (await w.manager().reconcile(w.ctx(network()), true)).changes;
    assert.deepEqual(
      changes.map((c) => [c.resource, c.action]),
      [
        ['ebsVolumes.data', 'create'],
        ['ec2KeyPairs.kp', 'create'],
        ['ec2SecurityGroups.admin', 'create'],
        ['ec2SecurityGroups.web', 'create'],
        ['elasticIPs.ip', 'create'],
        ['s3Buckets.logs', 'create'],
      ],
    );
    for (const r of Object.values(w.state.resources)) {
      assert.ok(r.id, `${r.type}.${r.name} has an id`);
      assert.match(r.token ?? '', /^[0-9a-f]{48}$/);
    }
    // THEN the rule naming the admin group names its real id
    const groups = await w.clients
      .ec2(R)
      .send(
        new DescribeSecurityGroupsCommand({ GroupIds: [w.state.resources['ec2SecurityGroups.web']!.id!] }),
      );
    const ssh = groups.SecurityGroups?.[0]?.IpPermissions?.find((p) => p.FromPort === 22);
    assert.equal(ssh?.UserIdGroupPairs?.[0]?.GroupId, w.state.resources['ec2SecurityGroups.admin']!.id);
    // AND the bucket has its policy, versioning, lifecycle and tags
    const s3 = w.clients.s3(R);
    const Bucket = 'reconix-test-logs';
    assert.equal((await s3.send(new GetBucketVersioningCommand({ Bucket }))).Status, 'Enabled');
    assert.ok((await s3.send(new GetBucketPolicyCommand({ Bucket }))).Policy?.includes('s3:GetObject'));
    assert.equal(
      (await s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket }))).Rules?.[0]?.ID,
      'expire',
    );
    const tags = (await s3.send(new GetBucketTaggingCommand({ Bucket }))).TagSet ?? [];
    assert.ok(tags.some((t) => t.Key === 'team' && t.Value === 'ops'));
    assert.ok(tags.some((t) => t.Key === 'reconix:deployment' && t.Value === 'test'));
  });

  it('keeps the private key of a key pair in a 0600 file and nowhere in the state', async () => {
    await w.manager().reconcile(w.ctx(network()), true);
    const kp = w.state.resources['ec2KeyPairs.kp']!;
    const file = w.secrets.path('test', `ec2KeyPairs.kp.${kp.token}`);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    const key = await w.secrets.read('test', `ec2KeyPairs.kp.${kp.token}`);
    assert.match(key ?? '', /BEGIN OPENSSH PRIVATE KEY/);
    const stateText = JSON.stringify(w.state);
    assert.ok(!stateText.includes('PRIVATE KEY'));
    assert.ok(!stateText.includes(key!.split('\n')[1]!));
    // AND AWS holds the public half
    const pairs = await w.clients.ec2(R).send(new DescribeKeyPairsCommand({ KeyPairIds: [kp.id!] }));
    assert.equal(pairs.KeyPairs?.[0]?.KeyName, 'reconix-test-kp');
  });

  it('changes nothing, with no mutating call, when the resources already match', async () => {
    await w.manager().reconcile(w.ctx(network()), true);
    w.counter.reset();
    const changes = (await w.manager().reconcile(w.ctx(network()), true)).changes;
    assert.deepEqual(new Set(changes.map((c) => c.action)), new Set(['unchanged']));
    assert.deepEqual(
      w.counter.calls.filter((c) => isMutating(c.command)),
      [],
    );
  });

  it('updates rules, bucket policy, versioning, lifecycle and tags in place, showing what changes', async () => {
    await w.manager().reconcile(w.ctx(network()), true);
    const ids = Object.fromEntries(Object.entries(w.state.resources).map(([k, r]) => [k, r.id]));
    const changed = network({
      rules: [{ fromPort: 443, toPort: 443, sourceIp: '0.0.0.0/0' }],
      bucket: { versioning: 'Suspended', policy: '', lifeCycle: '', tags: { team: 'web' } },
    });
    const plan = byKey((await w.manager().reconcile(w.ctx(changed), false)).changes);
    assert.equal(plan['ec2SecurityGroups.web']?.action, 'update');
    assert.deepEqual(Object.keys(plan['ec2SecurityGroups.web']?.attributes ?? {}), ['rules']);
    assert.equal(plan['s3Buckets.logs']?.action, 'update');
    assert.deepEqual(Object.keys(plan['s3Buckets.logs']?.attributes ?? {}).sort(), [
      'lifeCycle',
      'policy',
      'tags',
      'versioning',
    ]);
    assert.deepEqual(plan['s3Buckets.logs']?.attributes?.versioning, ['Enabled', 'Suspended']);

    await w.manager().reconcile(w.ctx(changed), true);
    assert.deepEqual(Object.fromEntries(Object.entries(w.state.resources).map(([k, r]) => [k, r.id])), ids);
    const g = await w.clients
      .ec2(R)
      .send(new DescribeSecurityGroupsCommand({ GroupIds: [ids['ec2SecurityGroups.web']!] }));
    assert.deepEqual(
      g.SecurityGroups?.[0]?.IpPermissions?.map((p) => p.FromPort),
      [443],
    );
    const s3 = w.clients.s3(R);
    assert.equal(
      (await s3.send(new GetBucketVersioningCommand({ Bucket: 'reconix-test-logs' }))).Status,
      'Suspended',
    );
    await assert.rejects(
      s3.send(new GetBucketPolicyCommand({ Bucket: 'reconix-test-logs' })),
      /policy does not exist/,
    );
    const again = (await w.manager().reconcile(w.ctx(changed), false)).changes;
    assert.deepEqual(new Set(again.map((c) => c.action)), new Set(['unchanged']));
  });

  it('says "replace" for what cannot change in place, and replaces only with --allow-recreate', async () => {
    await w.manager().reconcile(w.ctx(network()), true);
    const old = w.state.resources['ec2SecurityGroups.admin']!.id;
    const next = view({ ec2SecurityGroups: { admin: { region: R, description: 'admins only', rules: [] } } });
    const blocked = byKey((await w.manager().reconcile(w.ctx(next), true)).changes);
    assert.equal(blocked['ec2SecurityGroups.admin']?.action, 'replace');
    assert.match(
      blocked['ec2SecurityGroups.admin']?.note ?? '',
      /forces replacement: description.*--allow-recreate/,
    );
    assert.equal(w.state.resources['ec2SecurityGroups.admin']!.id, old);

    // The web group's rule names the admin group: it goes first (kill-obsolete), then the admin group is replaced.
    await w.manager({ allowRecreate: true, killObsolete: true }).reconcile(w.ctx(next), true);
    const now = w.state.resources['ec2SecurityGroups.admin']!.id;
    assert.notEqual(now, old);
    const listing = await listEverything(w.clients, [R]);
    assert.deepEqual(listing.groups, [`${R}/reconix-test-admin`]);
  });

  it('reports resources that left the spec and destroys them only with --kill-obsolete', async () => {
    await w.manager().reconcile(w.ctx(network()), true);
    const smaller = view({ ec2KeyPairs: { kp: { region: R } } });
    const kept = byKey((await w.manager().reconcile(w.ctx(smaller), true)).changes);
    assert.match(kept['elasticIPs.ip']?.note ?? '', /--kill-obsolete/);
    assert.equal((await listEverything(w.clients, [R])).addresses.length, 1);
    await w.manager({ killObsolete: true }).reconcile(w.ctx(smaller), true);
    const listing = await listEverything(w.clients, [R]);
    assert.deepEqual([listing.addresses, listing.groups, listing.buckets], [[], [], []]);
    assert.deepEqual(Object.keys(w.state.resources), ['ec2KeyPairs.kp']);
  });

  it('adopts every object by its tags when the state is lost, creating nothing', async () => {
    await w.manager().reconcile(w.ctx(network()), true);
    const ids = Object.fromEntries(Object.entries(w.state.resources).map(([k, r]) => [k, r.id]));
    w.state.resources = {};
    w.counter.reset();
    const changes = (await w.manager().reconcile(w.ctx(network()), true)).changes;
    assert.deepEqual(new Set(changes.map((c) => c.action)), new Set(['adopt']));
    assert.deepEqual(Object.fromEntries(Object.entries(w.state.resources).map(([k, r]) => [k, r.id])), ids);
    assert.ok(!w.counter.calls.some((c) => /^(Create|Import|Allocate|Run)/.test(c.command)));
  });

  /** s3Buckets.b recorded with its token, and the bucket made in S3 but never tagged: a create cut short. */
  const bucketCutShort = async (bucket: string, token: string) => {
    w.state.resources['s3Buckets.b'] = {
      type: 's3Buckets',
      name: 'b',
      token,
      facts: { region: R, name: bucket },
    };
    await w.clients
      .s3(R)
      .send(
        new CreateBucketCommand({ Bucket: bucket, CreateBucketConfiguration: { LocationConstraint: R } }),
      );
  };

  it('uses the recorded token when a create was cut short before its call, and adopts when after it', async () => {
    const net = view({
      ebsVolumes: { data: { region: R, zone: `${R}a`, size: 1 } },
      s3Buckets: { b: { region: R, name: 'cut-short' } },
    });
    // GIVEN tokens recorded, the volume never created, the bucket created but not yet tagged
    w.state.resources['ebsVolumes.data'] = {
      type: 'ebsVolumes',
      name: 'data',
      token: 'a'.repeat(48),
      facts: { region: R },
    };
    await bucketCutShort('cut-short', 'b'.repeat(48));
    const changes = byKey((await w.manager().reconcile(w.ctx(net), true)).changes);
    assert.equal(changes['ebsVolumes.data']?.action, 'create');
    assert.equal(w.state.resources['ebsVolumes.data']?.token, 'a'.repeat(48));
    assert.equal(changes['s3Buckets.b']?.action, 'update');
    assert.match(changes['s3Buckets.b']?.note ?? '', /adopted/);
    const tags =
      (await w.clients.s3(R).send(new GetBucketTaggingCommand({ Bucket: 'cut-short' }))).TagSet ?? [];
    assert.ok(tags.some((t) => t.Key === 'reconix:token' && t.Value === 'b'.repeat(48)));
  });

  it("refuses a bucket name that exists but is not this deployment's, naming the resource", async () => {
    await w.clients.s3(R).send(
      new CreateBucketCommand({
        Bucket: 'someone-elses',
        CreateBucketConfiguration: { LocationConstraint: R },
      }),
    );
    const err = await w
      .manager()
      .reconcile(w.ctx(view({ s3Buckets: { b: { region: R, name: 'someone-elses' } } })), true)
      .catch((e: unknown) => e);
    assert.ok(err instanceof ReconixError);
    assert.equal(err.reason, Reason.CloudError);
    assert.match(err.message, /s3Buckets\.b: someone-elses exists in AWS but is not this deployment's/);
  });

  it('reports the AWS error code and the resource when AWS refuses a create', async () => {
    // GIVEN a key pair of the same name that Reconix did not make
    const pub = generateEd25519().publicKey;
    await w.clients
      .ec2(R)
      .send(new ImportKeyPairCommand({ KeyName: 'taken', PublicKeyMaterial: Buffer.from(pub) }));
    const err = await w
      .manager()
      .reconcile(
        w.ctx(view({ ec2KeyPairs: { kp: { region: R, name: 'taken' } }, elasticIPs: { ip: { region: R } } })),
        true,
      )
      .catch((e: unknown) => e);
    assert.ok(err instanceof ReconixError);
    assert.equal(err.reason, Reason.CloudError);
    assert.match(
      err.message,
      /ec2KeyPairs\.kp: importing key pair taken: AWS error InvalidKeyPair\.Duplicate/,
    );
    // AND independent resources were still made
    assert.ok(w.state.resources['elasticIPs.ip']?.id);
  });

  it('destroys in reverse order, keeps persistOnDestroy buckets, refuses non-empty buckets without the flag', async () => {
    const net = view({
      ec2SecurityGroups: {
        a: { region: R, rules: [{ fromPort: 1, sourceGroup: { _ref: 'ec2SecurityGroups.b' } }] },
        b: { region: R },
      },
      s3Buckets: {
        kept: { region: R, name: 'kept-bucket', persistOnDestroy: true },
        full: { region: R, name: 'full-bucket' },
      },
    });
    await w.manager().reconcile(w.ctx(net), true);
    await w.clients.s3(R).send(new PutObjectCommand({ Bucket: 'full-bucket', Key: 'x', Body: 'data' }));
    await assert.rejects(
      w.manager().destroy(w.ctx(view()), {}),
      /full-bucket is not empty.*--delete-nonempty-buckets/,
    );
    assert.deepEqual(Object.keys(w.state.resources), ['s3Buckets.full']);
    const changes = await w.manager().destroy(w.ctx(view()), { deleteNonEmptyBuckets: true });
    assert.deepEqual(
      changes.map((c) => [c.resource, c.action]),
      [['s3Buckets.full', 'destroy']],
    );
    const buckets = (await w.clients.s3(R).send(new ListBucketsCommand({}))).Buckets?.map((b) => b.Name);
    assert.deepEqual(buckets, ['kept-bucket']);
    assert.deepEqual(w.state.resources, {});
    assert.deepEqual((await listEverything(w.clients, [R])).groups, []);
  });

  it('destroys a bucket whose create was cut short before it could be tagged', async () => {
    await bucketCutShort('cut-short-destroy', 'c'.repeat(48));
    await w.manager().destroy(w.ctx(view()), {});
    assert.deepEqual((await listEverything(w.clients, [R])).buckets, []);
    assert.deepEqual(w.state.resources, {});
  });

  it("deletes everything, a group that another group's rule names too, and nothing that is not its own", async () => {
    await w.clients.ec2(R).send(new CreateSecurityGroupCommand({ GroupName: 'outsider', Description: 'x' }));
    await w.manager().reconcile(w.ctx(network()), true);
    await w.manager().destroy(w.ctx(view()), {});
    const left = await listEverything(w.clients, [R]);
    assert.deepEqual(left.groups, [`${R}/outsider`]);
    assert.deepEqual([left.keyPairs, left.addresses, left.buckets], [[], [], []]);
    assert.deepEqual(
      left.volumes.filter((v) => v.Tags?.length),
      [],
    );
  });
});
