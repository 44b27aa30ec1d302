// Planning cloud resources is pure: (desired, observed, recorded) -> create, update in place, replace, destroy,
// each with the attributes that change, in dependency order. No I/O, no clock.
import { canonicalJson } from '../util/json.js';
import type { ResourceChange } from '../core/ports.js';

/** Shown wherever a value depends on a resource that does not exist yet. */
export const UNKNOWN = '(known after apply)';

export type AttrValues = Record<string, unknown>;

export interface DesiredResource {
  key: string;
  type: string;
  /** Keys of the resources this one refers to. */
  deps: readonly string[];
  attrs: AttrValues;
}

export interface ObservedResource {
  id: string;
  attrs: AttrValues;
}

/** What to do with one resource. `adopt`: it exists in AWS but the state does not say so yet. */
export interface ResourceStep {
  key: string;
  adopt: boolean;
  action: 'create' | 'update' | 'replace' | 'unchanged';
  changed: Record<string, [unknown, unknown]>;
  /** Attributes that AWS cannot change in place. */
  replaceBecause: string[];
  /** Why the step waits for the user (a replacement without --allow-recreate). */
  blocked?: string;
}

export interface ResourceRules {
  /** Attributes AWS changes in place; every other changed attribute forces a replacement. */
  mutable: readonly string[];
  /** Whether the observed value satisfies the desired one (default: equal as canonical JSON). */
  equal?: (attr: string, want: unknown, have: unknown) => boolean;
}

export function sameJson(a: unknown, b: unknown): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

function hasUnknown(v: unknown): boolean {
  if (v === UNKNOWN) return true;
  if (Array.isArray(v)) return v.some(hasUnknown);
  if (typeof v === 'object' && v !== null) return Object.values(v).some(hasUnknown);
  return false;
}

/** Attributes whose observed value does not satisfy the desired one: name -> [observed, desired]. */
export function diffAttributes(
  want: AttrValues,
  have: AttrValues,
  equal: ResourceRules['equal'] = (_a, w, h) => sameJson(w, h),
): Record<string, [unknown, unknown]> {
  const out: Record<string, [unknown, unknown]> = {};
  for (const [attr, w] of Object.entries(want)) {
    if (w === undefined) continue;
    const h = have[attr];
    if (hasUnknown(w) || !equal(attr, w, h)) out[attr] = [h ?? null, w];
  }
  return out;
}

/** The step for one resource. */
export function planResource(
  want: DesiredResource,
  observed: ObservedResource | undefined,
  recordedId: string | undefined,
  rules: ResourceRules,
  allowRecreate: boolean,
): ResourceStep {
  const adopt = observed !== undefined && observed.id !== recordedId;
  if (!observed) {
    const changed: Record<string, [unknown, unknown]> = {};
    for (const [k, v] of Object.entries(want.attrs)) if (v !== undefined) changed[k] = [null, v];
    return { key: want.key, adopt: false, action: 'create', changed, replaceBecause: [] };
  }
  const changed = diffAttributes(want.attrs, observed.attrs, rules.equal);
  const replaceBecause = Object.keys(changed).filter((a) => !rules.mutable.includes(a));
  if (replaceBecause.length > 0) {
    const step: ResourceStep = { key: want.key, adopt, action: 'replace', changed, replaceBecause };
    if (!allowRecreate)
      step.blocked = `${replaceBecause.join(', ')} cannot change in place: run with --allow-recreate`;
    return step;
  }
  const action = Object.keys(changed).length > 0 ? 'update' : 'unchanged';
  return { key: want.key, adopt, action, changed, replaceBecause: [] };
}

/** Creation order: every resource after the ones it refers to; ties broken by key. Throws on a cycle. */
export function creationOrder(desired: readonly Pick<DesiredResource, 'key' | 'deps'>[]): string[] {
  const deps = new Map(desired.map((d) => [d.key, d.deps.filter((x) => x !== d.key)]));
  const done = new Set<string>();
  const order: string[] = [];
  const visiting: string[] = [];
  const visit = (key: string) => {
    if (done.has(key) || !deps.has(key)) return;
    if (visiting.includes(key)) {
      throw new Error(
        `resources refer to each other in a cycle: ${[...visiting.slice(visiting.indexOf(key)), key].join(' -> ')}`,
      );
    }
    visiting.push(key);
    for (const d of [...(deps.get(key) ?? [])].sort()) visit(d);
    visiting.pop();
    done.add(key);
    order.push(key);
  };
  for (const key of [...deps.keys()].sort()) visit(key);
  return order;
}

/**
 * Destruction order of recorded resources, which may have left the spec (so their references are gone): by type,
 * dependents' types first (`rank`: lower is created earlier, destroyed later), then by key.
 */
export function destructionOrder(keys: readonly string[], rank: (type: string) => number): string[] {
  const typeOf = (k: string) => k.slice(0, Math.max(0, k.indexOf('.')));
  return [...keys].sort((a, b) => rank(typeOf(b)) - rank(typeOf(a)) || a.localeCompare(b));
}

/** The step as the plan shows it. */
export function toChange(step: ResourceStep): ResourceChange {
  const attributes = Object.keys(step.changed).length > 0 ? { attributes: step.changed } : {};
  if (step.action === 'unchanged') {
    return step.adopt
      ? { resource: step.key, action: 'adopt', note: 'found in AWS by its tags; recorded' }
      : { resource: step.key, action: 'unchanged' };
  }
  const notes: string[] = [];
  if (step.adopt) notes.push('found in AWS by its tags; adopted');
  if (step.action === 'replace') notes.push(`forces replacement: ${step.replaceBecause.join(', ')}`);
  if (step.blocked) notes.push(`not done: ${step.blocked}`);
  return {
    resource: step.key,
    action: step.action,
    ...attributes,
    ...(notes.length > 0 ? { note: notes.join('; ') } : {}),
  };
}

/** A destroy as the plan shows it. */
export function destroyChange(key: string, id: string | undefined, note?: string): ResourceChange {
  return {
    resource: key,
    action: 'destroy',
    ...(id ? { attributes: { id: [id, null] } } : {}),
    ...(note ? { note } : {}),
  };
}
