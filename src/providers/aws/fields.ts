// Reading attributes of the physical view with clear errors: every value there came from a user's Nix file.
import { Reason } from '../../api/conditions.js';
import { ReconixError } from '../../core/errors.js';
import type { ResourceRef } from '../../core/model.js';
import { isRef } from './refs.js';

export type Attrs = Record<string, unknown>;

export function invalid(where: string, message: string): ReconixError {
  return new ReconixError(Reason.InvalidManifest, `${where}: ${message}`, { reaction: 'stall' });
}

const show = (v: unknown): string => JSON.stringify(v)?.slice(0, 80) ?? String(v);

/** The attribute set at `key` (empty when absent or null). */
export function attrs(a: Attrs, key: string, where: string): Attrs {
  const v = a[key];
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v) || isRef(v))
    throw invalid(where, `${key} must be an attribute set`);
  return v as Attrs;
}

export function optStr(a: Attrs, key: string, where: string): string | undefined {
  const v = a[key];
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') throw invalid(where, `${key} must be a string, not ${show(v)}`);
  return v;
}

export function str(a: Attrs, key: string, where: string, fallback?: string): string {
  const v = optStr(a, key, where) ?? fallback;
  if (v === undefined) throw invalid(where, `${key} is required`);
  return v;
}

export function optInt(a: Attrs, key: string, where: string): number | undefined {
  const v = a[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) {
    throw invalid(where, `${key} must be a whole number, not ${show(v)}`);
  }
  return v;
}

export function bool(a: Attrs, key: string, where: string, fallback: boolean): boolean {
  const v = a[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'boolean') throw invalid(where, `${key} must be true or false, not ${show(v)}`);
  return v;
}

/** A string or a reference to a resource of one of `types`. */
export function optStrOrRef(
  a: Attrs,
  key: string,
  where: string,
  types: readonly string[],
): string | ResourceRef | undefined {
  const v = a[key];
  if (isRef(v)) return checkRef(v, key, where, types);
  return optStr(a, key, where);
}

export function checkRef(v: ResourceRef, key: string, where: string, types: readonly string[]): ResourceRef {
  const type = v._ref.split('.')[0] ?? '';
  if (!types.includes(type)) {
    throw invalid(
      where,
      `${key} refers to ${v._ref}, but only ${types.join(' or ')} can be referred to here`,
    );
  }
  return { _ref: v._ref };
}

/** A list of strings or references. */
export function strOrRefList(
  a: Attrs,
  key: string,
  where: string,
  types: readonly string[],
  fallback: (string | ResourceRef)[] = [],
): (string | ResourceRef)[] {
  const v = a[key];
  if (v === undefined || v === null) return fallback;
  if (!Array.isArray(v)) throw invalid(where, `${key} must be a list`);
  return v.map((item, i) => {
    if (isRef(item)) return checkRef(item, `${key}[${i}]`, where, types);
    if (typeof item !== 'string' || item === '')
      throw invalid(where, `${key}[${i}] must be a name or a reference`);
    return item;
  });
}

export function stringMap(a: Attrs, key: string, where: string): Record<string, string> {
  const m = attrs(a, key, where);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(m)) {
    if (typeof v !== 'string') throw invalid(where, `${key}.${k} must be a string`);
    out[k] = v;
  }
  return out;
}

export function oneOf<T extends string>(value: string, allowed: readonly T[], key: string, where: string): T {
  if (!(allowed as readonly string[]).includes(value)) {
    throw invalid(where, `${key} must be one of ${allowed.join(', ')}, not ${show(value)}`);
  }
  return value as T;
}

/** Names AWS objects get by default: reconix-<deployment>-<name>, with what AWS refuses replaced. */
export function defaultName(deployment: string, name: string, max = 255): string {
  return `reconix-${deployment}-${name}`.replace(/[^A-Za-z0-9._-]/g, '-').slice(0, max);
}
