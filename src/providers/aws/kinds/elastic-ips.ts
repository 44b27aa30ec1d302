// elasticIPs: addresses allocated in the VPC domain; machines refer to them with deployment.ec2.elasticIPv4.
import type { Address } from '@aws-sdk/client-ec2';
import { ec2Sdk } from '../sdk.js';
import { aws, hasCode } from '../errors.js';
import type { ElasticIpSpec } from '../spec.js';
import { deploymentFilter, fromTagList, ownTags, tagSpecs, userTags, TAG_NAME, TAG_TOKEN } from '../tags.js';
import { regionOf, type Found, type KindContext, type ResourceKind } from './kind.js';
import { retagAndDescribe } from './tagging.js';

const {
  AllocateAddressCommand,
  DescribeAddressesCommand,
  DisassociateAddressCommand,
  ReleaseAddressCommand,
} = ec2Sdk;

function found(region: string, a: Address): Found {
  const tags = fromTagList(a.Tags);
  return {
    id: a.AllocationId ?? '',
    ...(tags[TAG_NAME] ? { logical: tags[TAG_NAME] } : {}),
    ...(tags[TAG_TOKEN] ? { token: tags[TAG_TOKEN] } : {}),
    attrs: { region, tags: userTags(tags) },
    facts: {
      allocationId: a.AllocationId,
      // NixOps' name for the address.
      address: a.PublicIp,
      publicIp: a.PublicIp,
      region,
      ...(a.AssociationId ? { associationId: a.AssociationId } : {}),
      ...(a.InstanceId ? { instanceId: a.InstanceId } : {}),
    },
  };
}

async function describe(ctx: KindContext, region: string, id: string): Promise<Address | undefined> {
  try {
    const out = await ctx.clients.ec2(region).send(new DescribeAddressesCommand({ AllocationIds: [id] }));
    return out.Addresses?.[0];
  } catch (err) {
    if (hasCode(err, 'InvalidAllocationID.NotFound')) return undefined;
    throw err;
  }
}

export const elasticIps: ResourceKind<ElasticIpSpec> = {
  type: 'elasticIPs',
  mutable: ['tags'],

  async list(ctx, region) {
    const out = await aws(`listing elastic IPs in ${region}`, () =>
      ctx.clients
        .ec2(region)
        .send(new DescribeAddressesCommand({ Filters: [deploymentFilter(ctx.deployment)] })),
    );
    return (out.Addresses ?? []).map((a) => found(region, a));
  },

  desired(spec) {
    return { region: spec.region, tags: spec.tags };
  },

  async create(ctx, spec, _facts, token) {
    const out = await aws(`${spec.key}: allocating an address`, () =>
      ctx.clients.ec2(spec.region).send(
        new AllocateAddressCommand({
          Domain: 'vpc',
          TagSpecifications: tagSpecs(['elastic-ip'], ownTags(ctx.deployment, spec.key, token, spec.tags)),
        }),
      ),
    );
    return found(spec.region, {
      ...(out.AllocationId ? { AllocationId: out.AllocationId } : {}),
      ...(out.PublicIp ? { PublicIp: out.PublicIp } : {}),
      Tags: [
        { Key: TAG_NAME, Value: spec.key },
        { Key: TAG_TOKEN, Value: token },
        ...Object.entries(spec.tags).map(([Key, Value]) => ({ Key, Value })),
      ],
    });
  },

  update(ctx, spec, f) {
    return retagAndDescribe(
      ctx,
      spec,
      f,
      () => describe(ctx, spec.region, f.id),
      (a) => found(spec.region, a),
    );
  },

  async destroy(ctx, record) {
    const region = regionOf(record);
    const id = record.id;
    if (!region || !id) return;
    const what = `${record.type}.${record.name}`;
    const a = await aws(`${what}: describing ${id}`, () => describe(ctx, region, id));
    if (!a) return;
    if (a.AssociationId) {
      await aws(`${what}: disassociating ${a.PublicIp ?? id}`, async () => {
        try {
          await ctx.clients
            .ec2(region)
            .send(new DisassociateAddressCommand({ AssociationId: a.AssociationId }));
        } catch (err) {
          if (!hasCode(err, 'InvalidAssociationID.NotFound')) throw err;
        }
      });
    }
    await aws(`${what}: releasing ${a.PublicIp ?? id}`, async () => {
      try {
        await ctx.clients.ec2(region).send(new ReleaseAddressCommand({ AllocationId: id }));
      } catch (err) {
        if (!hasCode(err, 'InvalidAllocationID.NotFound')) throw err;
      }
    });
  },
};
