// The ec2 target's drift pass: instances that exist but differ from their machine's spec are changed in place
// where EC2 allows it (tags, groups, address, volumes; the type by stop, modify, start when a reboot is allowed),
// else replaced when allowed; duplicates tagged for a machine are terminated.
import type { Instance } from '@aws-sdk/client-ec2';
import { ec2Sdk } from '../sdk.js';
import type { MachinePhysical } from '../../../core/model.js';
import {
  destroyChange,
  planResource,
  sameJson,
  toChange,
  type ResourceStep,
} from '../../../plan/resources.js';
import type { ResourceChange, ResourceContext } from '../../../core/ports.js';
import { aws } from '../errors.js';
import type { Ec2Facts } from '../facts.js';
import type { KindContext } from '../kinds/kind.js';
import { syncTags } from '../kinds/tagging.js';
import { isRef, resolve, type ResourceFacts } from '../refs.js';
import { fromTagList, userTags } from '../tags.js';
import { completeInstance, groupIds, listInstances, waitState } from './ec2.js';
import { matchInstance, parseInstanceRecord, stateOf, strays, type InstanceRecord } from './record.js';
import { parseInstance, type InstanceSpec } from './spec.js';

const {
  ModifyInstanceAttributeCommand,
  StartInstancesCommand,
  StopInstancesCommand,
  TerminateInstancesCommand,
} = ec2Sdk;

export interface InstanceDriftOptions {
  kctx: KindContext;
  allowReboot: boolean;
  allowRecreate: boolean;
}

const MUTABLE = ['instanceType', 'securityGroups', 'tags', 'elasticIPv4', 'volumes'];

const groupLabel = (g: { GroupId?: string | undefined; GroupName?: string | undefined }) =>
  `${g.GroupId ?? '?'} (${g.GroupName ?? '?'})`;

/** The comparable attributes of an instance and of what its machine asks for. Pure. */
export function instanceAttrs(spec: InstanceSpec, facts: ResourceFacts, rec: InstanceRecord, inst: Instance) {
  const groups = [...spec.securityGroupIds, ...spec.securityGroups].map((g) =>
    typeof g === 'string' ? g : resolve(g, facts, 'groupId'),
  );
  const disks = spec.blockDevices.filter((b) => b.disk).map((b) => resolve(b.disk!, facts, 'volumeId'));
  const want = {
    region: spec.region,
    ami: spec.ami,
    zone: spec.zone,
    subnetId: spec.subnetId,
    keyPair: spec.keyPair && resolve(spec.keyPair, facts, 'name'),
    instanceType: spec.instanceType,
    securityGroups: groups.sort(),
    tags: spec.tags,
    elasticIPv4:
      spec.elasticIPv4 &&
      (isRef(spec.elasticIPv4) ? resolve(spec.elasticIPv4, facts, 'publicIp') : spec.elasticIPv4),
    volumes: disks.length > 0 ? disks.sort() : undefined,
  };
  const have = {
    region: rec.region,
    ami: inst.ImageId,
    zone: inst.Placement?.AvailabilityZone,
    subnetId: inst.SubnetId,
    keyPair: inst.KeyName,
    instanceType: inst.InstanceType,
    securityGroups: (inst.SecurityGroups ?? []).map(groupLabel).sort(),
    tags: userTags(fromTagList(inst.Tags)),
    elasticIPv4: inst.PublicIpAddress,
    volumes: (inst.BlockDeviceMappings ?? [])
      .map((b) => b.Ebs?.VolumeId ?? '')
      .filter(Boolean)
      .sort(),
  };
  return { want, have };
}

/** Groups match by id or by name; attached volumes may include more than the spec names (the root). */
export function instanceEqual(attr: string, want: unknown, have: unknown): boolean {
  if (attr === 'securityGroups' && Array.isArray(want) && Array.isArray(have)) {
    const labels = have as string[];
    const hit = (w: string) => labels.some((h) => h.startsWith(`${w} `) || h.endsWith(`(${w})`));
    return want.length === labels.length && (want as string[]).every(hit);
  }
  if (attr === 'volumes' && Array.isArray(want) && Array.isArray(have)) {
    return (want as string[]).every((w) => (have as string[]).includes(w));
  }
  // The rest compare as values: maps (tags) by their entries, whatever order EC2 lists them in.
  return sameJson(want, have);
}

export function planInstance(
  spec: InstanceSpec,
  facts: ResourceFacts,
  rec: InstanceRecord,
  inst: Instance,
  opts: { allowReboot: boolean; allowRecreate: boolean },
): ResourceStep {
  const { want, have } = instanceAttrs(spec, facts, rec, inst);
  const key = `ec2Instances.${spec.machine}`;
  const step = planResource(
    { key, type: 'ec2Instances', deps: [], attrs: want },
    { id: inst.InstanceId ?? '', attrs: have },
    inst.InstanceId,
    { mutable: MUTABLE, equal: instanceEqual },
    opts.allowRecreate,
  );
  if (step.action === 'update' && step.changed.instanceType && !opts.allowReboot) {
    step.blocked = 'instanceType changes by stopping and starting the instance: run with --allow-reboot';
  }
  return step;
}

/**
 * Plan (and with `apply`, make) the changes of the deployment's existing instances. Returns them, and the listing
 * it made when it changed nothing, for the observation that follows.
 */
export async function reconcileInstances(
  o: InstanceDriftOptions,
  ctx: ResourceContext,
  apply: boolean,
  facts: Ec2Facts['resources'],
): Promise<{ changes: ResourceChange[]; instances?: Record<string, Instance[]> }> {
  const machines: { m: MachinePhysical; rec: InstanceRecord }[] = [];
  for (const m of Object.values(ctx.physical.machines)) {
    const rec = m.targetEnv === 'ec2' ? parseInstanceRecord(ctx.state.machines[m.name]?.target) : undefined;
    if (rec?.instanceId) machines.push({ m, rec });
  }
  const regions = [...new Set(machines.map((x) => x.rec.region))];
  const lists = new Map(
    await Promise.all(
      regions.map(async (r) => [r, await listInstances(o.kctx.clients, r, ctx.deployment)] as const),
    ),
  );
  const changes: ResourceChange[] = [];
  let touched = false;
  for (const { m, rec } of machines) {
    let spec: InstanceSpec;
    try {
      spec = parseInstance(ctx.deployment, m);
    } catch {
      continue; // the provider reports the spec's error for this machine
    }
    const listed = lists.get(rec.region) ?? [];
    const inst = matchInstance(listed, m.name, rec);
    for (const dup of strays(listed, m.name, inst?.InstanceId)) {
      changes.push(
        destroyChange(
          `ec2Instances.${m.name}`,
          dup.InstanceId,
          'a duplicate instance tagged for this machine',
        ),
      );
      if (apply) await terminate(o, rec.region, dup.InstanceId!);
      touched = true;
    }
    if (!inst || (stateOf(inst) !== 'running' && stateOf(inst) !== 'stopped')) continue;
    const step = planInstance(spec, facts, rec, inst, o);
    if (step.action === 'unchanged') continue;
    changes.push(toChange(step));
    if (!apply || step.blocked) continue;
    touched = true;
    if (step.action === 'replace') {
      await terminate(o, rec.region, inst.InstanceId!);
      // The machine is new from here on: the provider creates its instance, and it is activated from scratch.
      const mr = ctx.state.machines[m.name];
      if (mr) {
        delete mr.target;
        delete mr.endpoint;
        delete mr.hostKey;
        delete mr.activated;
      }
      await ctx.save();
    } else {
      await update(o, spec, facts, inst, step);
    }
  }
  return touched ? { changes } : { changes, instances: Object.fromEntries(lists) };
}

async function terminate(o: InstanceDriftOptions, region: string, id: string): Promise<void> {
  await aws(`terminating ${id}`, () =>
    o.kctx.clients.ec2(region).send(new TerminateInstancesCommand({ InstanceIds: [id] })),
  );
  await waitState(o.kctx.clients, o.kctx.clock, region, id, ['terminated']);
}

async function update(
  o: InstanceDriftOptions,
  spec: InstanceSpec,
  facts: ResourceFacts,
  inst: Instance,
  step: ResourceStep,
) {
  const { clients, clock } = o.kctx;
  const ec2 = clients.ec2(spec.region);
  const id = inst.InstanceId!;
  const what = `ec2Instances.${spec.machine}`;
  if (step.changed.tags) {
    await syncTags(o.kctx, spec.region, what, id, userTags(fromTagList(inst.Tags)), spec.tags);
  }
  if (step.changed.securityGroups) {
    const names = spec.securityGroups.filter(
      (g): g is string => typeof g === 'string' && !g.startsWith('sg-'),
    );
    const known = new Map((inst.SecurityGroups ?? []).map((g) => [g.GroupName ?? '', g.GroupId ?? '']));
    const missing = names.filter((n) => !known.has(n));
    const looked = await groupIds(clients, spec.region, missing, inst.VpcId);
    const ids = [...spec.securityGroupIds, ...spec.securityGroups].map((g) =>
      typeof g === 'string'
        ? g.startsWith('sg-')
          ? g
          : (known.get(g) ?? looked.get(g) ?? g)
        : resolve(g, facts, 'groupId'),
    );
    await aws(`${what}: setting security groups of ${id}`, () =>
      ec2.send(new ModifyInstanceAttributeCommand({ InstanceId: id, Groups: ids })),
    );
  }
  if (step.changed.instanceType) {
    const running = stateOf(inst) === 'running';
    if (running) {
      await aws(`${what}: stopping ${id}`, () => ec2.send(new StopInstancesCommand({ InstanceIds: [id] })));
      await waitState(clients, clock, spec.region, id, ['stopped']);
    }
    await aws(`${what}: changing the type of ${id} to ${spec.instanceType}`, () =>
      ec2.send(
        new ModifyInstanceAttributeCommand({ InstanceId: id, InstanceType: { Value: spec.instanceType } }),
      ),
    );
    if (running) {
      await aws(`${what}: starting ${id}`, () => ec2.send(new StartInstancesCommand({ InstanceIds: [id] })));
      inst = await waitState(clients, clock, spec.region, id, ['running']);
    }
  }
  if (step.changed.elasticIPv4 || step.changed.volumes)
    await completeInstance(clients, clock, spec, facts, inst);
}
