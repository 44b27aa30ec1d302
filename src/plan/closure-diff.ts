// What changes between two systems, from their closures, their etc trees and what dry-activate says: the
// grouping nix store diff-closures and nvd show (a package, its versions before and after, its size delta).
import type { ClosureDiff } from '../api/output.js';

/** A store path of a closure with the size of its NAR. */
export interface SizedPath {
  path: string;
  narSize: number;
}

/** What an etc tree maps each file (relative to etc) to: a symlink's target, or a plain file's content hash. */
export type EtcTree = ReadonlyMap<string, string>;

export type PackageChange = ClosureDiff['packages'][number];
export type UnitChanges = NonNullable<ClosureDiff['units']>;

/** Outputs Nix names with a suffix (`openssl-3.0.13-dev`, `perl-5.38-man`): one package with its `out`. */
const OUTPUTS = new Set(['bin', 'dev', 'devdoc', 'doc', 'info', 'lib', 'man', 'static', 'debug', 'out']);
/** Below this, a change of size alone is noise (a rebuilt path's hash differs), as diff-closures has it. */
export const SIZE_THRESHOLD = 8 * 1024;

/** The name of a store path without its hash: `/nix/store/<hash>-hello-2.12` -> `hello-2.12`. */
export function storeName(path: string): string {
  const base = path.slice(path.lastIndexOf('/') + 1);
  const dash = base.indexOf('-');
  return dash < 0 ? base : base.slice(dash + 1);
}

/**
 * Split a store path name into package name and version as Nix does (the version starts at the first dash
 * followed by something other than a letter), after dropping an output suffix: `hello-2.12` -> hello, 2.12;
 * `python3.11-requests-2.31.0-dev` -> python3.11-requests, 2.31.0; `etc-hosts` -> etc-hosts, "".
 */
export function splitName(name: string): { name: string; version: string } {
  let base = name;
  const last = base.lastIndexOf('-');
  if (last > 0 && OUTPUTS.has(base.slice(last + 1))) base = base.slice(0, last);
  for (let i = 0; i < base.length - 1; i++) {
    if (base[i] === '-' && !/[a-zA-Z]/.test(base[i + 1] ?? '')) {
      return { name: base.slice(0, i), version: base.slice(i + 1) };
    }
  }
  return { name: base, version: '' };
}

interface Group {
  versions: Set<string>;
  size: number;
}

function group(closure: readonly SizedPath[]): Map<string, Group> {
  const groups = new Map<string, Group>();
  for (const p of closure) {
    const { name, version } = splitName(storeName(p.path));
    const g = groups.get(name) ?? { versions: new Set<string>(), size: 0 };
    g.versions.add(version);
    g.size += p.narSize;
    groups.set(name, g);
  }
  return groups;
}

const byVersion = (a: string, b: string) => a.localeCompare(b, 'en', { numeric: true });

/** The packages whose versions differ, or whose size changed by SIZE_THRESHOLD or more, sorted by name. */
export function diffPackages(before: readonly SizedPath[], after: readonly SizedPath[]): PackageChange[] {
  const old = group(before);
  const now = group(after);
  const changes: PackageChange[] = [];
  for (const name of [...new Set([...old.keys(), ...now.keys()])].sort()) {
    const o = old.get(name) ?? { versions: new Set<string>(), size: 0 };
    const n = now.get(name) ?? { versions: new Set<string>(), size: 0 };
    const removed = [...o.versions].filter((v) => !n.versions.has(v)).sort(byVersion);
    const added = [...n.versions].filter((v) => !o.versions.has(v)).sort(byVersion);
    const sizeDelta = n.size - o.size;
    if (removed.length > 0 || added.length > 0 || Math.abs(sizeDelta) >= SIZE_THRESHOLD) {
      changes.push({ name, before: removed, after: added, sizeDelta });
    }
  }
  return changes;
}

/** The files of two etc trees that were added, removed or point elsewhere, each list sorted. */
export function diffEtc(before: EtcTree, after: EtcTree): ClosureDiff['etc'] {
  const added: string[] = [];
  const changed: string[] = [];
  for (const [file, target] of after) {
    const was = before.get(file);
    if (was === undefined) added.push(file);
    else if (was !== target) changed.push(file);
  }
  const removed = [...before.keys()].filter((f) => !after.has(f));
  return { added: added.sort(), removed: removed.sort(), changed: changed.sort() };
}

/**
 * The units NixOS's `switch-to-configuration dry-activate` says it would stop, restart, start or reload: each
 * "would <verb> the following units: a.service, b.socket" line (also its "would restart systemd" and
 * "would reload" forms); every other line is ignored.
 */
export function parseDryActivate(output: string): UnitChanges {
  const units: UnitChanges = { stop: [], restart: [], start: [], reload: [] };
  const line = /^would (stop|restart|start|reload) the following units: (.*)$/;
  for (const raw of output.split('\n')) {
    const m = line.exec(raw.trim());
    if (!m) continue;
    const verb = m[1] as keyof UnitChanges;
    for (const unit of (m[2] ?? '').split(',')) {
      const u = unit.trim();
      if (u && !units[verb].includes(u)) units[verb].push(u);
    }
  }
  return units;
}

export interface DiffInput {
  from?: string;
  to: string;
  before: readonly SizedPath[];
  after: readonly SizedPath[];
  etcBefore: EtcTree;
  etcAfter: EtcTree;
  units?: UnitChanges;
}

export function closureDiff(input: DiffInput): ClosureDiff {
  const oldPaths = new Set(input.before.map((p) => p.path));
  const newPaths = new Set(input.after.map((p) => p.path));
  const sum = (ps: readonly SizedPath[]) => ps.reduce((n, p) => n + p.narSize, 0);
  return {
    ...(input.from ? { from: input.from } : {}),
    to: input.to,
    paths: {
      added: [...newPaths].filter((p) => !oldPaths.has(p)).length,
      removed: [...oldPaths].filter((p) => !newPaths.has(p)).length,
    },
    size: { before: sum(input.before), after: sum(input.after) },
    packages: diffPackages(input.before, input.after),
    etc: diffEtc(input.etcBefore, input.etcAfter),
    ...(input.units ? { units: input.units } : {}),
  };
}

/** A signed size as diff-closures prints it: `+1.2 MiB`, `-512.0 KiB`, `+120 B`. */
export function formatDelta(bytes: number): string {
  const sign = bytes < 0 ? '-' : '+';
  const n = Math.abs(bytes);
  if (n < 1024) return `${sign}${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${sign}${v.toFixed(1)} ${units[u]}`;
}

const versions = (vs: readonly string[]) =>
  vs.length === 0 ? '∅' : vs.map((v) => (v === '' ? 'ε' : v)).join(', ');

/** One package's line: `hello: 2.10 -> 2.12, +1.2 MiB`; a change of size only: `glibc: +16.0 KiB`. */
export function packageLine(p: PackageChange): string {
  const size = p.sizeDelta === 0 ? '' : formatDelta(p.sizeDelta);
  if (p.before.length === 0 && p.after.length === 0) return `${p.name}: ${size}`;
  return `${p.name}: ${versions(p.before)} -> ${versions(p.after)}${size ? `, ${size}` : ''}`;
}

/** The diff as text lines, indented by `indent`. */
export function renderClosureDiff(d: ClosureDiff, indent = '    '): string[] {
  const lines = [
    `${indent}closure: ${d.paths.added} paths added, ${d.paths.removed} removed, ` +
      `${formatDelta(d.size.after - d.size.before)}`,
    ...d.packages.map((p) => `${indent}  ${packageLine(p)}`),
  ];
  const etc = [
    ...d.etc.added.map((f) => `+ /etc/${f}`),
    ...d.etc.removed.map((f) => `- /etc/${f}`),
    ...d.etc.changed.map((f) => `~ /etc/${f}`),
  ];
  if (etc.length > 0) lines.push(`${indent}etc:`, ...etc.map((l) => `${indent}  ${l}`));
  if (d.units) {
    const { stop, restart, start, reload } = d.units;
    const verbs = { stop, restart, start, reload };
    for (const [verb, us] of Object.entries(verbs)) {
      if (us.length > 0) lines.push(`${indent}would ${verb}: ${us.join(', ')}`);
    }
  }
  return lines;
}
