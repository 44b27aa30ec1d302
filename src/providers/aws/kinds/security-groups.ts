// ec2SecurityGroups: ingress rules from CIDR ranges or other groups, changed in place rule by rule.
import type { IpPermission, SecurityGroup } from '@aws-sdk/client-ec2';
import { ec2Sdk } from '../sdk.js';
import type { ResourceRecord } from '../../../core/model.js';
import { aws, eventually, hasCode } from '../errors.js';
import { resolve, type ResourceFacts } from '../refs.js';
import type { RuleSpec, SecurityGroupSpec } from '../spec.js';
import { deploymentFilter, fromTagList, ownTags, tagSpecs, userTags, TAG_NAME, TAG_TOKEN } from '../tags.js';
import { regionOf, type Found, type KindContext, type ResourceKind } from './kind.js';
import { retagAndDescribe } from './tagging.js';

const {
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  DeleteSecurityGroupCommand,
  DescribeSecurityGroupsCommand,
  RevokeSecurityGroupIngressCommand,
} = ec2Sdk;

/** One ingress rule, flat: what the spec says and what AWS lists compare as equal values. */
export interface FlatRule {
  protocol: string;
  fromPort?: number;
  toPort?: number;
  sourceIp?: string;
  sourceGroup?: string;
}

const ruleText = (r: FlatRule) =>
  JSON.stringify([r.protocol, r.fromPort, r.toPort, r.sourceIp, r.sourceGroup]);

export function sortRules(rules: FlatRule[]): FlatRule[] {
  const seen = new Map(rules.map((r) => [ruleText(r), r]));
  return [...seen.keys()].sort().map((k) => seen.get(k)!);
}

/** AWS's IpPermissions, one flat rule per source. */
export function flattenPermissions(perms: readonly IpPermission[] = []): FlatRule[] {
  const out: FlatRule[] = [];
  for (const p of perms) {
    const base: FlatRule = {
      protocol: p.IpProtocol ?? '-1',
      ...(p.IpProtocol !== '-1' && p.FromPort !== undefined ? { fromPort: p.FromPort } : {}),
      ...(p.IpProtocol !== '-1' && p.ToPort !== undefined ? { toPort: p.ToPort } : {}),
    };
    for (const r of p.IpRanges ?? []) if (r.CidrIp) out.push({ ...base, sourceIp: r.CidrIp });
    for (const g of p.UserIdGroupPairs ?? []) if (g.GroupId) out.push({ ...base, sourceGroup: g.GroupId });
  }
  return sortRules(out);
}

function toPermission(r: FlatRule): IpPermission {
  return {
    IpProtocol: r.protocol,
    ...(r.fromPort === undefined ? {} : { FromPort: r.fromPort }),
    ...(r.toPort === undefined ? {} : { ToPort: r.toPort }),
    ...(r.sourceIp ? { IpRanges: [{ CidrIp: r.sourceIp }] } : {}),
    ...(r.sourceGroup ? { UserIdGroupPairs: [{ GroupId: r.sourceGroup }] } : {}),
  };
}

export function desiredRules(rules: readonly RuleSpec[], facts: ResourceFacts): FlatRule[] {
  return sortRules(
    rules.map((r) => ({
      protocol: r.protocol,
      ...(r.protocol !== '-1' && r.fromPort !== undefined ? { fromPort: r.fromPort } : {}),
      ...(r.protocol !== '-1' && r.toPort !== undefined ? { toPort: r.toPort } : {}),
      ...(r.sourceIp ? { sourceIp: r.sourceIp } : {}),
      ...(r.sourceGroup ? { sourceGroup: resolve(r.sourceGroup, facts, 'groupId') } : {}),
    })),
  );
}

function found(region: string, g: SecurityGroup): Found {
  const tags = fromTagList(g.Tags);
  return {
    id: g.GroupId ?? '',
    ...(tags[TAG_NAME] ? { logical: tags[TAG_NAME] } : {}),
    ...(tags[TAG_TOKEN] ? { token: tags[TAG_TOKEN] } : {}),
    ...(g.GroupName ? { awsName: g.GroupName } : {}),
    attrs: {
      groupName: g.GroupName,
      description: g.Description,
      region,
      vpcId: g.VpcId,
      rules: flattenPermissions(g.IpPermissions),
      tags: userTags(tags),
    },
    facts: { groupId: g.GroupId, name: g.GroupName, region, ...(g.VpcId ? { vpcId: g.VpcId } : {}) },
  };
}

/** `fresh`: the group was just made, and AWS may not list it yet. */
async function describe(
  ctx: KindContext,
  region: string,
  id: string,
  fresh = true,
): Promise<SecurityGroup | undefined> {
  const call = () => ctx.clients.ec2(region).send(new DescribeSecurityGroupsCommand({ GroupIds: [id] }));
  const out = fresh ? await eventually(ctx.clock, ['InvalidGroup.NotFound'], call) : await call();
  return out.SecurityGroups?.[0];
}

/** Whether any rule had to change. */
async function setRules(
  ctx: KindContext,
  region: string,
  id: string,
  have: FlatRule[],
  want: FlatRule[],
): Promise<boolean> {
  const key = (r: FlatRule) => ruleText(r);
  const wanted = new Set(want.map(key));
  const had = new Set(have.map(key));
  const revoke = have.filter((r) => !wanted.has(key(r)));
  const add = want.filter((r) => !had.has(key(r)));
  const ec2 = ctx.clients.ec2(region);
  if (revoke.length > 0) {
    await ec2.send(
      new RevokeSecurityGroupIngressCommand({ GroupId: id, IpPermissions: revoke.map(toPermission) }),
    );
  }
  if (add.length > 0) {
    try {
      await ec2.send(
        new AuthorizeSecurityGroupIngressCommand({ GroupId: id, IpPermissions: add.map(toPermission) }),
      );
    } catch (err) {
      // A crash between an authorize and the state's save leaves the rule there: it is what we want.
      if (!hasCode(err, 'InvalidPermission.Duplicate')) throw err;
    }
  }
  return revoke.length > 0 || add.length > 0;
}

export const securityGroups: ResourceKind<SecurityGroupSpec> & {
  prepareDestroy(ctx: KindContext, records: ResourceRecord[]): Promise<void>;
} = {
  type: 'ec2SecurityGroups',
  mutable: ['rules', 'tags'],

  async list(ctx, region) {
    const out = await aws(`listing security groups in ${region}`, () =>
      ctx.clients
        .ec2(region)
        .send(new DescribeSecurityGroupsCommand({ Filters: [deploymentFilter(ctx.deployment)] })),
    );
    return (out.SecurityGroups ?? []).map((g) => found(region, g));
  },

  desired(spec, facts) {
    return {
      groupName: spec.groupName,
      description: spec.description,
      region: spec.region,
      vpcId: spec.vpcId,
      rules: desiredRules(spec.rules, facts),
      tags: spec.tags,
    };
  },

  async create(ctx, spec, facts, token) {
    const out = await aws(`${spec.key}: creating security group ${spec.groupName}`, () =>
      ctx.clients.ec2(spec.region).send(
        new CreateSecurityGroupCommand({
          GroupName: spec.groupName,
          Description: spec.description,
          ...(spec.vpcId ? { VpcId: spec.vpcId } : {}),
          TagSpecifications: tagSpecs(
            ['security-group'],
            ownTags(ctx.deployment, spec.key, token, spec.tags),
          ),
        }),
      ),
    );
    const g = await aws(`${spec.key}: describing the new group`, () =>
      describe(ctx, spec.region, out.GroupId ?? ''),
    );
    return this.update(ctx, spec, found(spec.region, g ?? { GroupId: out.GroupId }), facts);
  },

  async update(ctx, spec, f, facts) {
    const want = desiredRules(spec.rules, facts);
    const changed = await aws(`${spec.key}: updating the rules of ${f.id}`, () =>
      setRules(ctx, spec.region, f.id, (f.attrs.rules as FlatRule[] | undefined) ?? [], want),
    );
    return retagAndDescribe(
      ctx,
      spec,
      f,
      () => describe(ctx, spec.region, f.id),
      (g) => found(spec.region, g),
      changed,
    );
  },

  /** Rules that name other groups keep those groups from being deleted: revoke them first. */
  async prepareDestroy(ctx, records) {
    for (const r of records) {
      const region = regionOf(r);
      if (!region || !r.id) continue;
      const g = await aws(`${r.type}.${r.name}: describing ${r.id}`, async () => {
        try {
          return await describe(ctx, region, r.id!, false);
        } catch (err) {
          if (hasCode(err, 'InvalidGroup.NotFound')) return undefined;
          throw err;
        }
      });
      const byGroup = flattenPermissions(g?.IpPermissions).filter((x) => x.sourceGroup);
      if (byGroup.length === 0) continue;
      await aws(`${r.type}.${r.name}: revoking rules that name other groups`, () =>
        ctx.clients.ec2(region).send(
          new RevokeSecurityGroupIngressCommand({
            GroupId: r.id,
            IpPermissions: byGroup.map(toPermission),
          }),
        ),
      );
    }
  },

  async destroy(ctx, record) {
    const region = regionOf(record);
    const id = record.id;
    if (!region || !id) return;
    await aws(`${record.type}.${record.name}: deleting security group ${id}`, async () => {
      try {
        // Instances that used the group may still be shutting down.
        await eventually(
          ctx.clock,
          ['DependencyViolation'],
          () => ctx.clients.ec2(region).send(new DeleteSecurityGroupCommand({ GroupId: id })),
          { attempts: 30 },
        );
      } catch (err) {
        if (!hasCode(err, 'InvalidGroup.NotFound')) throw err;
      }
    });
  },
};
