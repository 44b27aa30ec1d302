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

/** Bring `facts` in line with one resource's record: its facts with the id, or none while it has no id. */
export function setFact(
  facts: ResourceFacts,
  type: string,
  name: string,
  r: ResourceRecord | undefined,
): void {
  if (r?.id) (facts[type] ??= {})[name] = { ...r.facts, id: r.id };
  else if (facts[type]) delete facts[type][name];
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
 * The objects found, looked up by what records and specs are matched on (region and id, token, tags, AWS name),
 * so that matching K resources against K objects is not K times K. Each lookup gives the first object in listing
 * order that fits, as a search of the list would.
 */
export class FoundIndex {
  private readonly first = new Map<string, Found>();

  constructor(found: readonly Found[]) {
    for (const f of found) {
      const region = f.facts.region;
      if (typeof region !== 'string') continue;
      this.put(['id', region, f.id, f.logical ?? ''], f);
      if (f.token) this.put(['token', region, f.token], f);
      if (f.logical) this.put(['logical', region, f.logical], f);
      if (f.awsName) this.put(['name', region, f.awsName], f);
      if (f.awsName && !f.logical) this.put(['untagged', region, f.awsName], f);
    }
  }

  private put(parts: string[], f: Found): void {
    const k = parts.join('\0');
    if (!this.first.has(k)) this.first.set(k, f);
  }

  /** The object with id `id` tagged as `logical` (untagged: ''). */
  byId = (region: string, id: string, logical: string) => this.get(['id', region, id, logical]);
  byToken = (region: string, token: string) => this.get(['token', region, token]);
  byLogical = (region: string, logical: string) => this.get(['logical', region, logical]);
  /** Any object with this AWS name; `untagged`: only one without Reconix's tags. */
  byName = (region: string, name: string, untagged = false) =>
    this.get([untagged ? 'untagged' : 'name', region, name]);

  private get(parts: string[]): Found | undefined {
    return this.first.get(parts.join('\0'));
  }
}

const indexOf = (found: readonly Found[] | FoundIndex): FoundIndex =>
  found instanceof FoundIndex ? found : new FoundIndex(found);

/**
 * The object that is a record's: by id (tagged as this resource: the recorded id alone may have been edited), by
 * token, by tags, or, for a create cut short before the object could be tagged (S3), untagged under the name the
 * record holds.
 */
export function matchRecord(
  key: string,
  region: string,
  rec: ResourceRecord | undefined,
  found: readonly Found[] | FoundIndex,
): Found | undefined {
  const idx = indexOf(found);
  const hit =
    (rec?.id && idx.byId(region, rec.id, key)) ||
    (rec?.token && idx.byToken(region, rec.token)) ||
    idx.byLogical(region, key);
  if (hit) return hit;
  const name = rec?.facts.name;
  const cutShort = rec?.token && !rec.id && typeof name === 'string';
  const byName = cutShort ? idx.byName(region, name, true) : undefined;
  return byName && rec?.token ? { ...byName, token: rec.token } : undefined;
}

/** As matchRecord, and an object with the resource's AWS name that is someone else's is an error. */
export function matchSpec(
  spec: ResourceSpec,
  rec: ResourceRecord | undefined,
  found: readonly Found[] | FoundIndex,
): Found | undefined {
  const idx = indexOf(found);
  const hit = matchRecord(spec.key, spec.region, rec, idx);
  if (hit) return hit;
  const name = awsName(spec);
  if (!name || !idx.byName(spec.region, name)) return undefined;
  throw new ReconixError(
    Reason.CloudError,
    `${spec.key}: ${name} exists in AWS but is not this deployment's (no reconix:name tag for ${spec.key}); ` +
      'choose another name, or tag it to adopt it',
    { reaction: 'stall' },
  );
}
