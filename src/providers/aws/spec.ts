// The AWS resources of a network, read from the physical view (NixOps' option names) into typed specs.
import type { ResourceRef } from '../../core/model.js';
import {
  attrs,
  bool,
  checkRef,
  defaultName,
  invalid,
  oneOf,
  optInt,
  optStr,
  str,
  stringMap,
  type Attrs,
} from './fields.js';
import { isRef, refsIn } from './refs.js';
import { canonicalJson } from '../../util/json.js';

export const RESOURCE_TYPES = [
  'ec2KeyPairs',
  'ec2SecurityGroups',
  'ebsVolumes',
  'elasticIPs',
  's3Buckets',
] as const;
export type ResourceType = (typeof RESOURCE_TYPES)[number];

interface Base {
  /** "<type>.<name>" */
  key: string;
  name: string;
  region: string;
  /** Keys of the resources this one refers to. */
  deps: string[];
}

export interface KeyPairSpec extends Base {
  type: 'ec2KeyPairs';
  keyName: string;
}

export interface RuleSpec {
  protocol: string;
  fromPort?: number;
  toPort?: number;
  sourceIp?: string;
  /** A group id ("sg-..."), or a reference to a group of this deployment. */
  sourceGroup?: string | ResourceRef;
}

export interface SecurityGroupSpec extends Base {
  type: 'ec2SecurityGroups';
  groupName: string;
  description: string;
  vpcId?: string;
  rules: RuleSpec[];
  tags: Record<string, string>;
}

export interface VolumeSpec extends Base {
  type: 'ebsVolumes';
  zone: string;
  size?: number;
  snapshot?: string;
  volumeType: string;
  iops?: number;
  encrypted: boolean;
  tags: Record<string, string>;
}

export interface ElasticIpSpec extends Base {
  type: 'elasticIPs';
  tags: Record<string, string>;
}

export interface BucketSpec extends Base {
  type: 's3Buckets';
  bucketName: string;
  /** The policy as canonical JSON, or undefined for none. */
  policy?: string;
  versioning: 'Enabled' | 'Suspended';
  /** Lifecycle rules in the S3 API's shape, or undefined for none. */
  lifeCycle?: Attrs[];
  persistOnDestroy: boolean;
  tags: Record<string, string>;
}

export type ResourceSpec = KeyPairSpec | SecurityGroupSpec | VolumeSpec | ElasticIpSpec | BucketSpec;

export function isAwsType(type: string): type is ResourceType {
  return (RESOURCE_TYPES as readonly string[]).includes(type);
}

/** Every AWS resource of the view, keyed by "<type>.<name>"; other types are left to other managers. */
export function parseResources(
  deployment: string,
  resources: Record<string, Record<string, Record<string, unknown>>>,
): Record<string, ResourceSpec> {
  const out: Record<string, ResourceSpec> = {};
  for (const [type, byName] of Object.entries(resources)) {
    if (!isAwsType(type)) continue;
    for (const [name, a] of Object.entries(byName)) {
      const key = `${type}.${name}`;
      const spec = parseOne(deployment, type, name, key, a);
      for (const dep of spec.deps) {
        const [dt, ...rest] = dep.split('.');
        const target = resources[dt ?? '']?.[rest.join('.')];
        if (!target) throw invalid(key, `refers to ${dep}, which is not defined`);
        if (typeof target.region === 'string' && target.region !== spec.region) {
          throw invalid(key, `is in ${spec.region} but refers to ${dep} in ${target.region}`);
        }
      }
      out[key] = spec;
    }
  }
  return out;
}

function parseOne(deployment: string, type: ResourceType, name: string, key: string, a: Attrs): ResourceSpec {
  const base = { key, name, region: str(a, 'region', key), deps: [...refsIn(a)].filter((d) => d !== key) };
  const tags = () => stringMap(a, 'tags', key);
  switch (type) {
    case 'ec2KeyPairs':
      return { ...base, type, keyName: str(a, 'name', key, defaultName(deployment, name)) };
    case 'ec2SecurityGroups': {
      const vpcId = optStr(a, 'vpcId', key);
      return {
        ...base,
        type,
        groupName: str(a, 'name', key, defaultName(deployment, name)),
        description: str(a, 'description', key, `Reconix-provisioned group ${name}`),
        ...(vpcId ? { vpcId } : {}),
        rules: rules(a, key),
        tags: tags(),
      };
    }
    case 'ebsVolumes': {
      const size = optInt(a, 'size', key);
      const snapshot = optStr(a, 'snapshot', key);
      const iops = optInt(a, 'iops', key);
      if (!size && !snapshot) throw invalid(key, 'set size (GiB) or snapshot');
      return {
        ...base,
        type,
        zone: str(a, 'zone', key),
        ...(size ? { size } : {}),
        ...(snapshot ? { snapshot } : {}),
        volumeType: str(a, 'volumeType', key, 'gp3'),
        ...(iops ? { iops } : {}),
        encrypted: bool(a, 'encrypted', key, false),
        tags: tags(),
      };
    }
    case 'elasticIPs':
      return { ...base, type, tags: tags() };
    case 's3Buckets':
      return bucket(deployment, name, base, a, tags());
  }
}

function rules(a: Attrs, key: string): RuleSpec[] {
  const list = a.rules ?? [];
  if (!Array.isArray(list)) throw invalid(key, 'rules must be a list');
  return list.map((r: unknown, i) => {
    const where = `${key}.rules[${i}]`;
    if (typeof r !== 'object' || r === null || Array.isArray(r))
      throw invalid(where, 'must be an attribute set');
    const ra = r as Attrs;
    const protocol = str(ra, 'protocol', where, 'tcp');
    const fromPort = optInt(ra, 'fromPort', where) ?? optInt(ra, 'typeNumber', where);
    const toPort = optInt(ra, 'toPort', where) ?? optInt(ra, 'codeNumber', where) ?? fromPort;
    const sourceIp = optStr(ra, 'sourceIp', where);
    const sourceGroup = groupSource(ra.sourceGroup, where);
    if (!sourceIp === !sourceGroup)
      throw invalid(where, 'set exactly one of sourceIp (a CIDR) and sourceGroup');
    if (protocol !== '-1' && protocol !== 'all' && fromPort === undefined)
      throw invalid(where, 'fromPort is required');
    return {
      protocol: protocol === 'all' ? '-1' : protocol,
      ...(fromPort === undefined ? {} : { fromPort }),
      ...(toPort === undefined ? {} : { toPort }),
      ...(sourceIp ? { sourceIp } : {}),
      ...(sourceGroup ? { sourceGroup } : {}),
    };
  });
}

/** NixOps writes sourceGroup = { groupName; ownerId; }; a reference or a group id also do. */
function groupSource(v: unknown, where: string): string | ResourceRef | undefined {
  if (v === undefined || v === null) return undefined;
  if (isRef(v)) return checkRef(v, 'sourceGroup', where, ['ec2SecurityGroups']);
  if (typeof v === 'string') return v;
  if (typeof v === 'object' && !Array.isArray(v)) {
    const g = v as Attrs;
    if (isRef(g.groupName))
      return checkRef(g.groupName, 'sourceGroup.groupName', where, ['ec2SecurityGroups']);
    const id = optStr(g, 'groupId', where) ?? optStr(g, 'groupName', where);
    if (id) return id;
  }
  throw invalid(where, 'sourceGroup must be a group id or a reference to a security group');
}

const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

function bucket(
  deployment: string,
  name: string,
  base: Base,
  a: Attrs,
  tags: Record<string, string>,
): BucketSpec {
  const key = base.key;
  const bucketName = str(
    a,
    'name',
    key,
    defaultName(deployment, name, 63).toLowerCase().replace(/[_]/g, '-'),
  );
  if (!BUCKET_NAME.test(bucketName) || bucketName.includes('..')) {
    throw invalid(
      key,
      `${JSON.stringify(bucketName)} is not a valid bucket name (3-63 of a-z, 0-9, '.', '-')`,
    );
  }
  const policy = jsonText(a.policy, `${key}.policy`);
  const lc = jsonText(a.lifeCycle, `${key}.lifeCycle`);
  return {
    ...base,
    type: 's3Buckets',
    bucketName,
    ...(policy ? { policy } : {}),
    versioning: oneOf(
      str(a, 'versioning', key, 'Suspended'),
      ['Enabled', 'Suspended'] as const,
      'versioning',
      key,
    ),
    ...(lc ? { lifeCycle: lifecycleRules(lc, `${key}.lifeCycle`) } : {}),
    persistOnDestroy: bool(a, 'persistOnDestroy', key, false),
    tags,
  };
}

/** A JSON document given as a string (NixOps) or as Nix data; returned as canonical JSON text. */
function jsonText(v: unknown, where: string): string | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  let parsed: unknown = v;
  if (typeof v === 'string') {
    try {
      parsed = JSON.parse(v);
    } catch (err) {
      throw invalid(where, `is not valid JSON: ${(err as Error).message}`);
    }
  }
  return canonicalJson(parsed);
}

function lifecycleRules(text: string, where: string): Attrs[] {
  const doc = JSON.parse(text) as unknown;
  const list = Array.isArray(doc)
    ? doc
    : (attrs({ d: doc }, 'd', where).Rules ?? attrs({ d: doc }, 'd', where).rules);
  if (!Array.isArray(list)) throw invalid(where, 'must hold a list of rules, or { "Rules": [...] }');
  return list.map((r, i) => {
    if (typeof r !== 'object' || r === null) throw invalid(`${where}[${i}]`, 'must be a rule');
    return r as Attrs;
  });
}
