// s3Buckets: found by name (S3 cannot filter by tag), tagged right after creation; policy, versioning, lifecycle
// and tags change in place. A bucket that still holds objects is deleted only when the user says so.
import type { LifecycleRule } from '@aws-sdk/client-s3';
import { s3Sdk } from '../sdk.js';
import { Reason } from '../../../api/conditions.js';
import { ReconixError } from '../../../core/errors.js';
import { sameJson } from '../../../plan/resources.js';
import { aws, hasCode, httpStatus } from '../errors.js';
import { canonicalJson } from '../../../util/json.js';
import type { BucketSpec } from '../spec.js';
import { fromTagList, ownTags, toTagList, userTags, TAG_DEPLOYMENT, TAG_NAME, TAG_TOKEN } from '../tags.js';
import { regionOf, type Found, type KindContext, type ResourceKind } from './kind.js';

const {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteBucketLifecycleCommand,
  DeleteBucketPolicyCommand,
  DeleteObjectsCommand,
  GetBucketLifecycleConfigurationCommand,
  GetBucketPolicyCommand,
  GetBucketTaggingCommand,
  GetBucketVersioningCommand,
  HeadBucketCommand,
  ListObjectVersionsCommand,
  PutBucketLifecycleConfigurationCommand,
  PutBucketPolicyCommand,
  PutBucketTaggingCommand,
  PutBucketVersioningCommand,
} = s3Sdk;

const absent = (err: unknown, ...codes: string[]) => hasCode(err, ...codes);

async function optional<T>(call: () => Promise<T>, ...missing: string[]): Promise<T | undefined> {
  try {
    return await call();
  } catch (err) {
    if (absent(err, ...missing)) return undefined;
    throw err;
  }
}

async function look(ctx: KindContext, region: string, bucket: string): Promise<Found | undefined> {
  const s3 = ctx.clients.s3(region);
  try {
    await s3.send(new HeadBucketCommand({ Bucket: bucket }));
  } catch (err) {
    if (httpStatus(err) === 404 || absent(err, 'NotFound', 'NoSuchBucket')) return undefined;
    throw err;
  }
  const tagging = await optional(
    () => s3.send(new GetBucketTaggingCommand({ Bucket: bucket })),
    'NoSuchTagSet',
  );
  const policy = await optional(
    () => s3.send(new GetBucketPolicyCommand({ Bucket: bucket })),
    'NoSuchBucketPolicy',
  );
  const versioning = await s3.send(new GetBucketVersioningCommand({ Bucket: bucket }));
  const lifecycle = await optional(
    () => s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: bucket })),
    'NoSuchLifecycleConfiguration',
  );
  const tags = fromTagList(tagging?.TagSet);
  return {
    id: bucket,
    awsName: bucket,
    ...(tags[TAG_NAME] && tags[TAG_DEPLOYMENT] === ctx.deployment ? { logical: tags[TAG_NAME] } : {}),
    ...(tags[TAG_TOKEN] ? { token: tags[TAG_TOKEN] } : {}),
    attrs: {
      bucketName: bucket,
      region,
      policy: policy?.Policy ? canonicalJson(JSON.parse(policy.Policy)) : null,
      versioning: versioning.Status ?? 'Suspended',
      lifeCycle: lifecycle?.Rules ?? null,
      tags: userTags(tags),
      // S3 cannot tag at creation: a bucket whose create was cut short has no tags of ours yet.
      ownerTags: tags[TAG_DEPLOYMENT] === ctx.deployment ? 'set' : 'missing',
    },
    facts: { name: bucket, region, arn: `arn:aws:s3:::${bucket}` },
  };
}

/** Whether the rules AWS lists say what the spec's rules say (AWS adds defaults of its own). */
function coversRules(want: unknown, have: unknown): boolean {
  if (Array.isArray(want)) {
    return (
      Array.isArray(have) && want.length === have.length && want.every((w, i) => coversRules(w, have[i]))
    );
  }
  if (typeof want === 'object' && want !== null) {
    if (typeof have !== 'object' || have === null) return false;
    return Object.entries(want).every(([k, w]) => coversRules(w, (have as Record<string, unknown>)[k]));
  }
  return want === have || String(want) === String(have);
}

async function configure(ctx: KindContext, spec: BucketSpec, f: Found, token: string): Promise<Found> {
  const s3 = ctx.clients.s3(spec.region);
  const Bucket = spec.bucketName;
  const what = `${spec.key}: bucket ${Bucket}`;
  const tags = ownTags(ctx.deployment, spec.key, token, spec.tags);
  await aws(`${what}: tagging`, () =>
    s3.send(new PutBucketTaggingCommand({ Bucket, Tagging: { TagSet: toTagList(tags) } })),
  );
  const a = f.attrs;
  if (!sameJson(a.policy ?? null, spec.policy ?? null)) {
    await aws(`${what}: setting the policy`, () =>
      spec.policy
        ? s3.send(new PutBucketPolicyCommand({ Bucket, Policy: spec.policy }))
        : s3.send(new DeleteBucketPolicyCommand({ Bucket })),
    );
  }
  if (a.versioning !== spec.versioning) {
    await aws(`${what}: setting versioning`, () =>
      s3.send(
        new PutBucketVersioningCommand({ Bucket, VersioningConfiguration: { Status: spec.versioning } }),
      ),
    );
  }
  if (!coversRules(spec.lifeCycle ?? null, a.lifeCycle ?? null)) {
    await aws(`${what}: setting lifecycle rules`, () =>
      spec.lifeCycle
        ? s3.send(
            new PutBucketLifecycleConfigurationCommand({
              Bucket,
              LifecycleConfiguration: { Rules: spec.lifeCycle as unknown as LifecycleRule[] },
            }),
          )
        : s3.send(new DeleteBucketLifecycleCommand({ Bucket })),
    );
  }
  return (await aws(`${what}: describing`, () => look(ctx, spec.region, Bucket))) ?? f;
}

export const buckets: ResourceKind<BucketSpec> = {
  type: 's3Buckets',
  mutable: ['policy', 'versioning', 'lifeCycle', 'tags', 'ownerTags'],
  equal(attr, want, have) {
    return attr === 'lifeCycle' ? coversRules(want, have) : sameJson(want, have);
  },

  async list(ctx, region, names) {
    const out: Found[] = [];
    for (const name of names) {
      const f = await aws(`looking up bucket ${name}`, () => look(ctx, region, name));
      if (f) out.push(f);
    }
    return out;
  },

  desired(spec) {
    return {
      bucketName: spec.bucketName,
      region: spec.region,
      policy: spec.policy ?? null,
      versioning: spec.versioning,
      lifeCycle: spec.lifeCycle ?? null,
      tags: spec.tags,
      ownerTags: 'set',
    };
  },

  async create(ctx, spec, _facts, token) {
    await aws(`${spec.key}: creating bucket ${spec.bucketName}`, async () => {
      try {
        await ctx.clients.s3(spec.region).send(
          new CreateBucketCommand({
            Bucket: spec.bucketName,
            ...(spec.region === 'us-east-1'
              ? {}
              : { CreateBucketConfiguration: { LocationConstraint: spec.region as never } }),
          }),
        );
      } catch (err) {
        // The token was recorded before this call and the bucket was not there when we looked: a retry of ours.
        if (!hasCode(err, 'BucketAlreadyOwnedByYou')) throw err;
      }
    });
    const bare: Found = {
      id: spec.bucketName,
      awsName: spec.bucketName,
      attrs: { bucketName: spec.bucketName, region: spec.region, versioning: 'Suspended', tags: {} },
      facts: {},
    };
    return configure(ctx, spec, bare, token);
  },

  async update(ctx, spec, f) {
    return configure(ctx, spec, f, f.token ?? '');
  },

  recordFacts(spec) {
    return { persistOnDestroy: spec.persistOnDestroy };
  },

  retained(record) {
    return record.facts.persistOnDestroy === true;
  },

  async destroy(ctx, record, opts) {
    const region = regionOf(record);
    const Bucket = record.id;
    if (!region || !Bucket) return;
    const s3 = ctx.clients.s3(region);
    const what = `${record.type}.${record.name}: bucket ${Bucket}`;
    for (;;) {
      const page = await aws(`${what}: listing objects`, () =>
        optional(() => s3.send(new ListObjectVersionsCommand({ Bucket, MaxKeys: 1000 })), 'NoSuchBucket'),
      );
      if (!page) return;
      const objects = [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])]
        .filter((o) => o.Key !== undefined)
        .map((o) => ({ Key: o.Key!, ...(o.VersionId ? { VersionId: o.VersionId } : {}) }));
      if (objects.length === 0) break;
      if (!opts.deleteNonEmptyBuckets) {
        throw new ReconixError(
          Reason.DestroyFailed,
          `${what} is not empty: empty it, set persistOnDestroy = true to keep it, or pass --delete-nonempty-buckets`,
          { reaction: 'stall' },
        );
      }
      await aws(`${what}: deleting ${objects.length} objects`, () =>
        s3.send(new DeleteObjectsCommand({ Bucket, Delete: { Objects: objects, Quiet: true } })),
      );
    }
    await aws(`${what}: deleting`, () =>
      optional(() => s3.send(new DeleteBucketCommand({ Bucket })), 'NoSuchBucket'),
    );
  },
};
