// ebsVolumes: made with the create call's token as ClientToken; size, type and IOPS change in place.
import type { Volume } from '@aws-sdk/client-ec2';
import { ec2Sdk } from '../sdk.js';
import { aws, eventually, hasCode, waitFor } from '../errors.js';
import type { VolumeSpec } from '../spec.js';
import { deploymentFilter, fromTagList, ownTags, tagSpecs, userTags, TAG_NAME, TAG_TOKEN } from '../tags.js';
import { regionOf, type Found, type KindContext, type ResourceKind } from './kind.js';
import { syncTags } from './tagging.js';

const {
  CreateVolumeCommand,
  DeleteVolumeCommand,
  DescribeVolumesCommand,
  DetachVolumeCommand,
  ModifyVolumeCommand,
} = ec2Sdk;

function found(region: string, v: Volume): Found {
  const tags = fromTagList(v.Tags);
  return {
    id: v.VolumeId ?? '',
    ...(tags[TAG_NAME] ? { logical: tags[TAG_NAME] } : {}),
    ...(tags[TAG_TOKEN] ? { token: tags[TAG_TOKEN] } : {}),
    attrs: {
      region,
      zone: v.AvailabilityZone,
      size: v.Size,
      snapshot: v.SnapshotId || undefined,
      volumeType: v.VolumeType,
      iops: v.Iops,
      encrypted: v.Encrypted ?? false,
      tags: userTags(tags),
    },
    facts: { volumeId: v.VolumeId, region, zone: v.AvailabilityZone, size: v.Size, state: v.State },
  };
}

async function describe(ctx: KindContext, region: string, id: string): Promise<Volume | undefined> {
  try {
    const out = await ctx.clients.ec2(region).send(new DescribeVolumesCommand({ VolumeIds: [id] }));
    return out.Volumes?.[0];
  } catch (err) {
    if (hasCode(err, 'InvalidVolume.NotFound')) return undefined;
    throw err;
  }
}

export const volumes: ResourceKind<VolumeSpec> = {
  type: 'ebsVolumes',
  mutable: ['size', 'volumeType', 'iops', 'tags'],

  async list(ctx, region) {
    const out = await aws(`listing volumes in ${region}`, () =>
      ctx.clients
        .ec2(region)
        .send(new DescribeVolumesCommand({ Filters: [deploymentFilter(ctx.deployment)] })),
    );
    return (out.Volumes ?? [])
      .filter((v) => v.State !== 'deleting' && v.State !== 'deleted')
      .map((v) => found(region, v));
  },

  desired(spec) {
    return {
      region: spec.region,
      zone: spec.zone,
      size: spec.size,
      snapshot: spec.snapshot,
      volumeType: spec.volumeType,
      iops: spec.iops,
      encrypted: spec.encrypted,
      tags: spec.tags,
    };
  },

  async create(ctx, spec, _facts, token) {
    const v = await aws(`${spec.key}: creating volume`, () =>
      ctx.clients.ec2(spec.region).send(
        new CreateVolumeCommand({
          AvailabilityZone: spec.zone,
          ...(spec.size ? { Size: spec.size } : {}),
          ...(spec.snapshot ? { SnapshotId: spec.snapshot } : {}),
          VolumeType: spec.volumeType as Volume['VolumeType'],
          ...(spec.iops ? { Iops: spec.iops } : {}),
          Encrypted: spec.encrypted,
          ClientToken: token,
          TagSpecifications: tagSpecs(['volume'], ownTags(ctx.deployment, spec.key, token, spec.tags)),
        }),
      ),
    );
    return found(spec.region, v);
  },

  async update(ctx, spec, f) {
    const a = f.attrs;
    const resize = spec.size !== undefined && a.size !== spec.size;
    if (resize || a.volumeType !== spec.volumeType || (spec.iops !== undefined && a.iops !== spec.iops)) {
      await aws(`${spec.key}: modifying volume ${f.id}`, () =>
        ctx.clients.ec2(spec.region).send(
          new ModifyVolumeCommand({
            VolumeId: f.id,
            ...(spec.size ? { Size: spec.size } : {}),
            VolumeType: spec.volumeType as Volume['VolumeType'],
            ...(spec.iops ? { Iops: spec.iops } : {}),
          }),
        ),
      );
    }
    await syncTags(ctx, spec.region, spec.key, f.id, (a.tags as Record<string, string>) ?? {}, spec.tags);
    const v = await aws(`${spec.key}: describing ${f.id}`, () => describe(ctx, spec.region, f.id));
    return v ? found(spec.region, v) : f;
  },

  async destroy(ctx, record) {
    const region = regionOf(record);
    const id = record.id;
    if (!region || !id) return;
    const what = `${record.type}.${record.name}`;
    const v = await aws(`${what}: describing ${id}`, () => describe(ctx, region, id));
    if (!v) return;
    if ((v.Attachments ?? []).some((a) => a.State === 'attached' || a.State === 'attaching')) {
      await aws(`${what}: detaching ${id}`, () =>
        ctx.clients.ec2(region).send(new DetachVolumeCommand({ VolumeId: id, Force: true })),
      );
      await waitFor(
        ctx.clock,
        `${what} to be detached`,
        async () => (await describe(ctx, region, id))?.State !== 'in-use',
      );
    }
    await aws(`${what}: deleting volume ${id}`, async () => {
      try {
        await eventually(ctx.clock, ['VolumeInUse'], () =>
          ctx.clients.ec2(region).send(new DeleteVolumeCommand({ VolumeId: id })),
        );
      } catch (err) {
        if (!hasCode(err, 'InvalidVolume.NotFound')) throw err;
      }
    });
  },
};
