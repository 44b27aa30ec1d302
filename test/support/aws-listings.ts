// moto's own listings of everything in an account, for leak and duplicate checks that do not trust Reconix.
import {
  DescribeAddressesCommand,
  DescribeInstancesCommand,
  DescribeKeyPairsCommand,
  DescribeSecurityGroupsCommand,
  DescribeVolumesCommand,
  type Instance,
  type Volume,
} from '@aws-sdk/client-ec2';
import { ListBucketsCommand } from '@aws-sdk/client-s3';
import type { AwsClients } from '../../src/providers/aws/index.js';

export interface Listing {
  /** Instances that are not terminated. */
  instances: Instance[];
  /** Every instance ever launched (terminated ones too). */
  launched: Instance[];
  keyPairs: string[];
  /** Security groups other than the VPC default ones. */
  groups: string[];
  /** Every volume, instances' own included. */
  volumes: Volume[];
  addresses: string[];
  buckets: string[];
}

export async function listEverything(clients: AwsClients, regions: string[]): Promise<Listing> {
  const out: Listing = {
    instances: [],
    launched: [],
    keyPairs: [],
    groups: [],
    volumes: [],
    addresses: [],
    buckets: [],
  };
  for (const region of regions) {
    const ec2 = clients.ec2(region);
    const inst = await ec2.send(new DescribeInstancesCommand({}));
    const all = (inst.Reservations ?? []).flatMap((r) => r.Instances ?? []);
    out.launched.push(...all);
    out.instances.push(...all.filter((i) => i.State?.Name !== 'terminated'));
    out.keyPairs.push(
      ...((await ec2.send(new DescribeKeyPairsCommand({}))).KeyPairs ?? []).map(
        (k) => `${region}/${k.KeyName}`,
      ),
    );
    out.groups.push(
      ...((await ec2.send(new DescribeSecurityGroupsCommand({}))).SecurityGroups ?? [])
        .filter((g) => g.GroupName !== 'default')
        .map((g) => `${region}/${g.GroupName}`),
    );
    out.volumes.push(...((await ec2.send(new DescribeVolumesCommand({}))).Volumes ?? []));
    out.addresses.push(
      ...((await ec2.send(new DescribeAddressesCommand({}))).Addresses ?? []).map(
        (a) => `${region}/${a.PublicIp}`,
      ),
    );
  }
  out.buckets.push(
    ...((await clients.s3(regions[0] ?? 'us-east-1').send(new ListBucketsCommand({}))).Buckets ?? []).map(
      (b) => b.Name ?? '',
    ),
  );
  return out;
}
