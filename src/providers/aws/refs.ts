// References between resources, as phase-1 evaluation serialises them: { "_ref": "<type>.<name>" }.
import type { ResourceRef } from '../../core/model.js';
import { UNKNOWN } from '../../plan/resources.js';

export { UNKNOWN };

/** Facts of created resources: facts.<type>.<name> = { id, name, region, ... }. */
export type ResourceFacts = Record<string, Record<string, Record<string, unknown>>>;

export function isRef(v: unknown): v is ResourceRef {
  return typeof v === 'object' && v !== null && typeof (v as { _ref?: unknown })._ref === 'string';
}

/** "<type>.<name>" of a reference. */
export function refKey(ref: ResourceRef): string {
  return ref._ref;
}

export function splitKey(key: string): { type: string; name: string } {
  const dot = key.indexOf('.');
  return dot < 0 ? { type: key, name: '' } : { type: key.slice(0, dot), name: key.slice(dot + 1) };
}

/** Every resource a value refers to, however deep. */
export function refsIn(value: unknown, out: Set<string> = new Set()): Set<string> {
  if (isRef(value)) out.add(refKey(value));
  else if (Array.isArray(value)) for (const v of value) refsIn(v, out);
  else if (typeof value === 'object' && value !== null) for (const v of Object.values(value)) refsIn(v, out);
  return out;
}

/** A string, or what a reference resolves to (`field` of the resource's facts), or UNKNOWN while it does not exist. */
export function resolve(value: string | ResourceRef, facts: ResourceFacts, field: string): string {
  if (!isRef(value)) return value;
  const { type, name } = splitKey(refKey(value));
  const got = facts[type]?.[name]?.[field];
  return typeof got === 'string' && got !== '' ? got : UNKNOWN;
}

export function isKnown(value: unknown): boolean {
  if (value === UNKNOWN) return false;
  if (Array.isArray(value)) return value.every(isKnown);
  if (typeof value === 'object' && value !== null) return Object.values(value).every(isKnown);
  return true;
}
