// EC2 calls about instances: the batched listing, launch, completion (address, volumes), power.
import type { BlockDeviceMapping, Instance, RunInstancesCommandInput } from '@aws-sdk/client-ec2';
import { ec2Sdk } from '../sdk.js';
import { Reason } from '../../../api/conditions.js';
import { ReconixError } from '../../../core/errors.js';
import type { Clock } from '../../../core/ports.js';
import type { AwsClients } from '../clients.js';
import { aws, eventually, waitFor } from '../errors.js';
import { resolve, UNKNOWN, type ResourceFacts } from '../refs.js';
import { deploymentFilter, ownTags, tagSpecs } from '../tags.js';
import { stateOf } from './record.js';
import type { InstanceSpec } from './spec.js';

const {
  AssociateAddressCommand,
  AttachVolumeCommand,
  DescribeAddressesCommand,
  DescribeInstanceAttributeCommand,
  DescribeInstancesCommand,
  DescribeSecurityGroupsCommand,
  RunInstancesCommand,
} = ec2Sdk;

/** Every instance of a deployment in a region: one call (more only past 1000 instances). */
export async function listInstances(
  clients: AwsClients,
  region: string,
  deployment: string,
): Promise<Instance[]> {
  const out: Instance[] = [];
  let NextToken: string | undefined;
  do {
    const page = await aws(`listing instances in ${region}`, () =>
      clients.ec2(region).send(
        new DescribeInstancesCommand({
          Filters: [deploymentFilter(deployment)],
          MaxResults: 1000,
          ...(NextToken ? { NextToken } : {}),
        }),
      ),
    );
    for (const r of page.Reservations ?? []) out.push(...(r.Instances ?? []));
    NextToken = page.NextToken;
  } while (NextToken);
  return out;
}

export async function describeInstance(clients: AwsClients, clock: Clock, region: string, id: string) {
  const out = await aws(`describing instance ${id}`, () =>
    eventually(clock, ['InvalidInstanceID.NotFound'], () =>
      clients.ec2(region).send(new DescribeInstancesCommand({ InstanceIds: [id] })),
    ),
  );
  const i = out.Reservations?.[0]?.Instances?.[0];
  if (!i) throw new ReconixError(Reason.CloudError, `instance ${id} is not listed in ${region}`);
  return i;
}

export async function userDataOf(clients: AwsClients, region: string, id: string): Promise<string> {
  const out = await aws(`reading the user data of ${id}`, () =>
    clients.ec2(region).send(new DescribeInstanceAttributeCommand({ InstanceId: id, Attribute: 'userData' })),
  );
  const v = out.UserData?.Value;
  return v ? Buffer.from(v, 'base64').toString('utf8') : '';
}

function known(machine: string, what: string, value: string): string {
  if (value === UNKNOWN) {
    throw new ReconixError(
      Reason.ProvisioningFailed,
      `machine ${machine}: ${what} refers to a resource not created yet`,
    );
  }
  return value;
}

/** Group ids for names (one call, only when names are given). */
export async function groupIds(
  clients: AwsClients,
  region: string,
  names: string[],
  vpcId?: string,
): Promise<Map<string, string>> {
  if (names.length === 0) return new Map();
  const out = await aws(`looking up security groups ${names.join(', ')} in ${region}`, () =>
    clients.ec2(region).send(
      new DescribeSecurityGroupsCommand({
        Filters: [
          { Name: 'group-name', Values: names },
          ...(vpcId ? [{ Name: 'vpc-id', Values: [vpcId] }] : []),
        ],
      }),
    ),
  );
  return new Map((out.SecurityGroups ?? []).map((g) => [g.GroupName ?? '', g.GroupId ?? '']));
}

/** RunInstances' input for a machine; references must be resolved by now. */
export function launchInput(
  spec: InstanceSpec,
  deployment: string,
  facts: ResourceFacts,
  token: string,
  userData: string,
  namedGroups: ReadonlyMap<string, string> = new Map(),
): RunInstancesCommandInput {
  const m = spec.machine;
  const ids = [...spec.securityGroupIds, ...spec.securityGroups.filter((g) => typeof g !== 'string')].map(
    (g) => known(m, 'a security group', resolve(g, facts, 'groupId')),
  );
  const names = spec.securityGroups.filter((g): g is string => typeof g === 'string');
  const keyName = spec.keyPair ? known(m, 'keyPair', resolve(spec.keyPair, facts, 'name')) : undefined;
  const tags = ownTags(deployment, m, token, spec.tags);
  const devices: BlockDeviceMapping[] = spec.blockDevices
    .filter((b) => b.disk === undefined)
    .map((b) => ({
      DeviceName: b.device,
      Ebs: {
        VolumeSize: b.size,
        DeleteOnTermination: b.deleteOnTermination,
        Encrypted: b.encrypt,
        ...(b.volumeType ? { VolumeType: b.volumeType as never } : {}),
        ...(b.iops ? { Iops: b.iops } : {}),
      },
    }));
  if (spec.ebsInitialRootDiskSize) {
    devices.unshift({
      DeviceName: '/dev/xvda',
      Ebs: { VolumeSize: spec.ebsInitialRootDiskSize, DeleteOnTermination: true },
    });
  }
  const vpcStyle = spec.subnetId !== undefined;
  if (vpcStyle) {
    // In a subnet, groups go by id only.
    for (const n of names) ids.push(known(m, `security group ${n}`, namedGroups.get(n) ?? UNKNOWN));
  }
  return {
    ClientToken: token,
    ImageId: spec.ami,
    InstanceType: spec.instanceType as never,
    MinCount: 1,
    MaxCount: 1,
    ...(keyName ? { KeyName: keyName } : {}),
    ...(spec.zone ? { Placement: { AvailabilityZone: spec.zone } } : {}),
    UserData: Buffer.from(userData).toString('base64'),
    ...(devices.length > 0 ? { BlockDeviceMappings: devices } : {}),
    ...(vpcStyle
      ? {
          NetworkInterfaces: [
            {
              DeviceIndex: 0,
              SubnetId: spec.subnetId,
              AssociatePublicIpAddress: spec.associatePublicIpAddress,
              ...(ids.length > 0 ? { Groups: ids } : {}),
            },
          ],
        }
      : {
          ...(ids.length > 0 ? { SecurityGroupIds: ids } : {}),
          ...(names.length > 0 ? { SecurityGroups: names } : {}),
        }),
    TagSpecifications: tagSpecs(['instance', 'volume'], tags),
  };
}

export async function runInstance(clients: AwsClients, spec: InstanceSpec, input: RunInstancesCommandInput) {
  const out = await aws(`machine ${spec.machine}: launching an instance in ${spec.region}`, () =>
    clients.ec2(spec.region).send(new RunInstancesCommand(input)),
  );
  const id = out.Instances?.[0]?.InstanceId;
  if (!id)
    throw new ReconixError(Reason.CloudError, `machine ${spec.machine}: RunInstances returned no instance`);
  return id;
}

export async function waitState(
  clients: AwsClients,
  clock: Clock,
  region: string,
  id: string,
  want: string[],
) {
  let last: Instance | undefined;
  await waitFor(clock, `instance ${id} to be ${want.join(' or ')}`, async () => {
    last = await describeInstance(clients, clock, region, id);
    return want.includes(stateOf(last));
  });
  return last!;
}

/** Associate the machine's elastic IP and attach its volumes, where not done yet. */
export async function completeInstance(
  clients: AwsClients,
  clock: Clock,
  spec: InstanceSpec,
  facts: ResourceFacts,
  inst: Instance,
): Promise<boolean> {
  const ec2 = clients.ec2(spec.region);
  const id = inst.InstanceId!;
  let changed = false;
  if (spec.elasticIPv4) {
    const allocation = await allocationOf(clients, spec, facts);
    if (inst.PublicIpAddress !== allocation.ip) {
      await aws(`machine ${spec.machine}: associating ${allocation.ip} with ${id}`, () =>
        eventually(clock, ['InvalidInstanceID.NotFound', 'IncorrectInstanceState'], () =>
          ec2.send(
            new AssociateAddressCommand({
              AllocationId: allocation.id,
              InstanceId: id,
              AllowReassociation: true,
            }),
          ),
        ),
      );
      changed = true;
    }
  }
  const attached = new Set((inst.BlockDeviceMappings ?? []).map((b) => b.Ebs?.VolumeId));
  for (const b of spec.blockDevices) {
    if (!b.disk) continue;
    const vol = known(
      spec.machine,
      `blockDeviceMapping."${b.device}".disk`,
      resolve(b.disk, facts, 'volumeId'),
    );
    if (attached.has(vol)) continue;
    await aws(`machine ${spec.machine}: attaching ${vol} at ${b.device}`, () =>
      eventually(clock, ['IncorrectState', 'IncorrectInstanceState'], () =>
        ec2.send(new AttachVolumeCommand({ VolumeId: vol, InstanceId: id, Device: b.device })),
      ),
    );
    changed = true;
  }
  return changed;
}

async function allocationOf(clients: AwsClients, spec: InstanceSpec, facts: ResourceFacts) {
  const eip = spec.elasticIPv4!;
  if (typeof eip !== 'string') {
    const id = known(spec.machine, 'elasticIPv4', resolve(eip, facts, 'allocationId'));
    return { id, ip: resolve(eip, facts, 'publicIp') };
  }
  const out = await aws(`machine ${spec.machine}: looking up the address ${eip}`, () =>
    clients.ec2(spec.region).send(new DescribeAddressesCommand({ PublicIps: [eip] })),
  );
  const a = out.Addresses?.[0];
  if (!a?.AllocationId) {
    throw new ReconixError(
      Reason.InvalidManifest,
      `machine ${spec.machine}: no elastic IP ${eip} in ${spec.region}`,
      {
        reaction: 'stall',
      },
    );
  }
  return { id: a.AllocationId, ip: eip };
}
