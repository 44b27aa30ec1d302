// The tags that make every cloud object Reconix creates findable again: after a crash, after losing the state,
// or when another process looks for leaks.
import type { TagSpecification, ResourceType } from '@aws-sdk/client-ec2';

/** The deployment an object belongs to. Every list call filters on it. */
export const TAG_DEPLOYMENT = 'reconix:deployment';
/** The logical name: "<type>.<name>" for a resource, the machine's name for an instance. */
export const TAG_NAME = 'reconix:name';
/** The idempotency token of the create call that made the object. */
export const TAG_TOKEN = 'reconix:token';

export type Tags = Record<string, string>;

/** The tags Reconix puts on an object, over the user's (which may not override them). */
export function ownTags(deployment: string, logical: string, token: string, user: Tags = {}): Tags {
  return {
    ...user,
    [TAG_DEPLOYMENT]: deployment,
    [TAG_NAME]: logical,
    [TAG_TOKEN]: token,
  };
}

export function toTagList(tags: Tags): { Key: string; Value: string }[] {
  return Object.entries(tags)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([Key, Value]) => ({ Key, Value }));
}

export function fromTagList(
  list: readonly { Key?: string | undefined; Value?: string | undefined }[] = [],
): Tags {
  const tags: Tags = {};
  for (const t of list) if (t.Key !== undefined) tags[t.Key] = t.Value ?? '';
  return tags;
}

export function tagSpecs(types: ResourceType[], tags: Tags): TagSpecification[] {
  return types.map((ResourceType) => ({ ResourceType, Tags: toTagList(tags) }));
}

/** The EC2 filter that selects one deployment's objects. */
export function deploymentFilter(deployment: string): { Name: string; Values: string[] } {
  return { Name: `tag:${TAG_DEPLOYMENT}`, Values: [deployment] };
}

/** Tags the user manages: everything but Reconix's own and AWS's reserved `aws:` tags. */
export function userTags(tags: Tags): Tags {
  const out: Tags = {};
  for (const [k, v] of Object.entries(tags)) {
    if (k === TAG_DEPLOYMENT || k === TAG_NAME || k === TAG_TOKEN || k.startsWith('aws:')) continue;
    out[k] = v;
  }
  return out;
}

/** What to add (or change) and what to remove to turn `current` into `desired`. */
export function tagDelta(current: Tags, desired: Tags): { set: Tags; remove: string[] } {
  const set: Tags = {};
  for (const [k, v] of Object.entries(desired)) if (current[k] !== v) set[k] = v;
  const remove = Object.keys(current).filter((k) => !(k in desired) && !k.startsWith('aws:'));
  return { set, remove };
}
