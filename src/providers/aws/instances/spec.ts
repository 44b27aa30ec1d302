// deployment.ec2.* of a machine, with NixOps' option names, read into a typed spec.
import type { MachinePhysical, ResourceRef } from '../../../core/model.js';
import {
  attrs,
  bool,
  invalid,
  optInt,
  optStr,
  optStrOrRef,
  str,
  strOrRefList,
  stringMap,
  type Attrs,
} from '../fields.js';
import { isRef, refsIn } from '../refs.js';

export interface BlockDevice {
  /** "/dev/xvdf" */
  device: string;
  /** An existing volume: an id or a reference to an ebsVolumes resource. Absent: a new volume made at launch. */
  disk?: string | ResourceRef;
  size?: number;
  volumeType?: string;
  iops?: number;
  deleteOnTermination: boolean;
  encrypt: boolean;
}

export interface InstanceSpec {
  machine: string;
  region: string;
  zone?: string;
  instanceType: string;
  ami: string;
  keyPair?: string | ResourceRef;
  /** A private key file for SSH when keyPair names a key pair Reconix does not manage. */
  privateKey?: string;
  /** Group names (or references); NixOps' default is the "default" group. */
  securityGroups: (string | ResourceRef)[];
  securityGroupIds: (string | ResourceRef)[];
  subnetId?: string;
  associatePublicIpAddress: boolean;
  usePrivateIpAddress: boolean;
  elasticIPv4?: string | ResourceRef;
  ebsInitialRootDiskSize?: number;
  blockDevices: BlockDevice[];
  tags: Record<string, string>;
  /** Resources this machine refers to. */
  deps: string[];
}

const GROUPS = ['ec2SecurityGroups'];

function blockDevices(a: Attrs, where: string): BlockDevice[] {
  const map = attrs(a, 'blockDeviceMapping', where);
  return Object.entries(map)
    .sort(([x], [y]) => x.localeCompare(y))
    .map(([device, v]) => {
      const w = `${where}.blockDeviceMapping."${device}"`;
      if (typeof v !== 'object' || v === null || Array.isArray(v))
        throw invalid(w, 'must be an attribute set');
      const b = v as Attrs;
      if (!/^\/dev\/[a-z0-9]+$/.test(device)) throw invalid(w, 'the device must look like /dev/xvdf');
      const disk = optStrOrRef(b, 'disk', w, ['ebsVolumes']);
      if (typeof disk === 'string' && !disk.startsWith('vol-')) {
        throw invalid(w, 'disk must be a volume id ("vol-...") or a reference to an ebsVolumes resource');
      }
      const size = optInt(b, 'size', w);
      if (!disk && !size) throw invalid(w, 'set disk (an existing volume) or size (GiB, a new volume)');
      const volumeType = optStr(b, 'volumeType', w);
      const iops = optInt(b, 'iops', w);
      return {
        device,
        ...(disk ? { disk } : {}),
        ...(size ? { size } : {}),
        ...(volumeType ? { volumeType } : {}),
        ...(iops ? { iops } : {}),
        // A volume made at launch goes with the instance; an existing one outlives it.
        deleteOnTermination: bool(b, 'deleteOnTermination', w, disk === undefined),
        encrypt: bool(b, 'encrypt', w, false),
      };
    });
}

export function parseInstance(deployment: string, m: MachinePhysical): InstanceSpec {
  const where = `machine ${m.name}: deployment.ec2`;
  const a = (m.options.ec2 ?? {}) as Attrs;
  if (typeof a !== 'object' || Array.isArray(a)) throw invalid(where, 'must be an attribute set');
  const keyPair = optStrOrRef(a, 'keyPair', where, ['ec2KeyPairs']);
  const privateKey = optStr(a, 'privateKey', where);
  const zone = optStr(a, 'zone', where);
  const subnetId = optStr(a, 'subnetId', where);
  const eip = optStrOrRef(a, 'elasticIPv4', where, ['elasticIPs']);
  const rootSize = optInt(a, 'ebsInitialRootDiskSize', where);
  const region = str(a, 'region', where);
  if (zone && !zone.startsWith(region)) throw invalid(where, `zone ${zone} is not in region ${region}`);
  const securityGroupIds = strOrRefList(a, 'securityGroupIds', where, GROUPS);
  const spec: InstanceSpec = {
    machine: m.name,
    region,
    ...(zone ? { zone } : {}),
    instanceType: str(a, 'instanceType', where, 'm1.small'),
    ami: str(a, 'ami', where),
    ...(keyPair ? { keyPair } : {}),
    ...(privateKey ? { privateKey } : {}),
    securityGroups: strOrRefList(
      a,
      'securityGroups',
      where,
      GROUPS,
      securityGroupIds.length > 0 ? [] : ['default'],
    ),
    securityGroupIds,
    ...(subnetId ? { subnetId } : {}),
    associatePublicIpAddress: bool(a, 'associatePublicIpAddress', where, false),
    usePrivateIpAddress: bool(a, 'usePrivateIpAddress', where, false),
    ...(eip ? { elasticIPv4: eip } : {}),
    ...(rootSize ? { ebsInitialRootDiskSize: rootSize } : {}),
    blockDevices: blockDevices(a, where),
    tags: { Name: `${deployment} [${m.name}]`, ...stringMap(a, 'tags', where) },
    deps: [...refsIn(a)],
  };
  for (const g of spec.securityGroupIds) {
    if (typeof g === 'string' && !g.startsWith('sg-'))
      throw invalid(where, `securityGroupIds: ${g} is not a group id`);
  }
  if (typeof spec.elasticIPv4 === 'string' && !/^\d+\.\d+\.\d+\.\d+$/.test(spec.elasticIPv4)) {
    throw invalid(where, 'elasticIPv4 must be an IPv4 address or a reference to an elasticIPs resource');
  }
  if (isRef(spec.keyPair) && spec.privateKey) {
    throw invalid(
      where,
      'privateKey is for key pairs Reconix does not manage; a managed key pair has its own key',
    );
  }
  return spec;
}

/** A machine may refer only to resources that exist and are in its own region. */
export function checkReferences(
  spec: InstanceSpec,
  resources: Record<string, Record<string, Record<string, unknown>>>,
): void {
  for (const dep of spec.deps) {
    const dot = dep.indexOf('.');
    const target = resources[dep.slice(0, dot)]?.[dep.slice(dot + 1)];
    const where = `machine ${spec.machine}: deployment.ec2`;
    if (!target) throw invalid(where, `refers to ${dep}, which is not defined`);
    if (typeof target.region === 'string' && target.region !== spec.region) {
      throw invalid(where, `the machine is in ${spec.region} but refers to ${dep} in ${target.region}`);
    }
  }
}
