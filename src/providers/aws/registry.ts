// The kinds of AWS resources, and how objects found in AWS are matched to resources and records.
import { Reason } from '../../api/conditions.js';
import { ReconixError } from '../../core/errors.js';
import type { ResourceRecord } from '../../core/model.js';
import { buckets } from './kinds/buckets.js';
import { elasticIps } from './kinds/elastic-ips.js';
import { keyPairs } from './kinds/key-pairs.js';
import { regionOf, type Found, type KindContext, type ResourceKind } from './kinds/kind.js';
import { securityGroups } from './kinds/security-groups.js';
import { volumes } from './kinds/volumes.js';
import type { ResourceFacts } from './refs.js';
import type { ResourceSpec } from './spec.js';

/** In creation order: a kind may refer only to kinds before it (groups to groups, machines to any). */
const KINDS: ResourceKind[] = [keyPairs, securityGroups, volumes, elasticIps, buckets] as ResourceKind[];
const BY_TYPE = new Map(KINDS.map((k) => [k.type as string, k]));

export function kindOf(type: string): ResourceKind {
  const k = BY_TYPE.get(type);
  if (!k) throw new Error(`no AWS resource kind ${type}`);
  return k;
}

/** Creation rank of a type: lower is created earlier and destroyed later. */
export const rank = (type: string): number => KINDS.findIndex((k) => k.type === type);

export const keyOf = (r: { type: string; name: string }): string => `${r.type}.${r.name}`;

/** The AWS name of a resource, for the kinds found by name. */
export function awsName(spec: ResourceSpec): string | undefined {
  if (spec.type === 'ec2KeyPairs') return spec.keyName;
  if (spec.type === 'ec2SecurityGroups') return spec.groupName;
  if (spec.type === 's3Buckets') return spec.bucketName;
  return undefined;
}

/** What references resolve to: facts.<type>.<name>, with the id. */
export function factsOf(resources: Record<string, ResourceRecord>): ResourceFacts {
  const facts: ResourceFacts = {};
  for (const r of Object.values(resources)) {
    if (r.id) (facts[r.type] ??= {})[r.name] = { ...r.facts, id: r.id };
  }
  return facts;
}

/** List every kind in every region it is used in, all at once; found objects by type. */
export async function observeKinds(
  kctx: KindContext,
  specs: readonly ResourceSpec[],
  records: readonly ResourceRecord[],
): Promise<Map<string, Found[]>> {
  const want = new Map<string, { type: string; region: string; names: Set<string> }>();
  const add = (type: string, region: string | undefined, name?: string) => {
    if (!region) return;
    const k = `${type}\0${region}`;
    const w = want.get(k) ?? { type, region, names: new Set<string>() };
    if (name) w.names.add(name);
    want.set(k, w);
  };
  for (const s of specs) add(s.type, s.region, awsName(s));
  for (const r of records) add(r.type, regionOf(r), typeof r.facts.name === 'string' ? r.facts.name : r.id);
  const lists = await Promise.all(
    [...want.values()].map(async (w) => ({
      type: w.type,
      found: await kindOf(w.type).list(kctx, w.region, [...w.names]),
    })),
  );
  const out = new Map<string, Found[]>();
  for (const l of lists) out.set(l.type, [...(out.get(l.type) ?? []), ...l.found]);
  return out;
}

/**
 * The object that is a record's: by id (tagged as this resource: the recorded id alone may have been edited), by
 * token, by tags, or, for a create cut short before the object could be tagged (S3), untagged under the name the
 * record holds.
 */
export function matchRecord(
  key: string,
  region: string,
  rec: ResourceRecord | undefined,
  found: readonly Found[],
): Found | undefined {
  const inRegion = found.filter((f) => f.facts.region === region);
  const hit =
    (rec?.id && inRegion.find((f) => f.id === rec.id && f.logical === key)) ||
    (rec?.token && inRegion.find((f) => f.token === rec.token)) ||
    inRegion.find((f) => f.logical === key);
  if (hit) return hit;
  const name = rec?.facts.name;
  const cutShort = rec?.token && !rec.id && typeof name === 'string';
  const byName = cutShort ? inRegion.find((f) => f.awsName === name && !f.logical) : undefined;
  return byName && rec?.token ? { ...byName, token: rec.token } : undefined;
}

/** As matchRecord, and an object with the resource's AWS name that is someone else's is an error. */
export function matchSpec(
  spec: ResourceSpec,
  rec: ResourceRecord | undefined,
  found: readonly Found[],
): Found | undefined {
  const hit = matchRecord(spec.key, spec.region, rec, found);
  if (hit) return hit;
  const name = awsName(spec);
  if (!name || !found.some((f) => f.facts.region === spec.region && f.awsName === name)) return undefined;
  throw new ReconixError(
    Reason.CloudError,
    `${spec.key}: ${name} exists in AWS but is not this deployment's (no reconix:name tag for ${spec.key}); ` +
      'choose another name, or tag it to adopt it',
    { reaction: 'stall' },
  );
}
