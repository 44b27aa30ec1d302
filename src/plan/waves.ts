// Which machines go in which rollout wave: a pure function of the machines and spec.rollout.strategy.
import { createHash } from 'node:crypto';
import type { AnalysisGate } from '../api/analysis.js';
import type { HealthCheck, HealthCheckOverride, MachineSelector, RolloutStrategy } from '../api/rollout.js';
import { parseDuration } from '../util/duration.js';
import { globToRegExp } from './plan.js';

export interface WaveMachine {
  name: string;
  tags?: readonly string[];
}

export interface WavePlan {
  /** 1-based. */
  index: number;
  machines: string[];
  bakeMs: number;
  pause: boolean;
  analysis?: AnalysisGate;
}

function matches(selector: MachineSelector, m: WaveMachine): boolean {
  if (selector.names && !globToRegExp(selector.names).test(m.name)) return false;
  return (selector.tags ?? []).every((t) => (m.tags ?? []).includes(t));
}

/**
 * The waves in order. A canary wave comes first, then the listed waves, each taking from the machines not yet
 * in a wave (count, or percent of all machines rounded up, of those its selector matches); without listed waves,
 * maxUnavailable cuts them into waves of that size; what is left forms a last wave. Empty waves are dropped.
 */
export function assignWaves(machines: readonly WaveMachine[], strategy?: RolloutStrategy): WavePlan[] {
  const left = [...machines].sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }));
  const total = left.length;
  const defaultBake = strategy?.bakeTime ? parseDuration(strategy.bakeTime) : 0;
  const waves: WavePlan[] = [];
  const take = (
    wanted: WaveMachine[],
    spec: { bakeTime?: string; pause?: boolean; analysis?: AnalysisGate },
  ) => {
    for (const m of wanted) left.splice(left.indexOf(m), 1);
    if (wanted.length === 0) return;
    waves.push({
      index: waves.length + 1,
      machines: wanted.map((m) => m.name),
      bakeMs: spec.bakeTime ? parseDuration(spec.bakeTime) : defaultBake,
      pause: spec.pause ?? false,
      ...(spec.analysis ? { analysis: spec.analysis } : {}),
    });
  };
  if (strategy?.canary) take(left.slice(0, strategy.canary), {});
  for (const w of strategy?.waves ?? []) {
    const candidates = w.selector ? left.filter((m) => matches(w.selector!, m)) : left;
    const n = w.count ?? (w.percent !== undefined ? Math.ceil((w.percent * total) / 100) : candidates.length);
    take(candidates.slice(0, n), w);
  }
  if (!strategy?.waves?.length && strategy?.maxUnavailable) {
    while (left.length > 0) take(left.slice(0, strategy.maxUnavailable), {});
  }
  take([...left], {});
  return waves;
}

/** Whether the deployment rolls out in waves with checks at all; if not, everything goes at once as before. */
export function isGated(
  strategy: RolloutStrategy | undefined,
  checks: Readonly<Record<string, readonly HealthCheck[]>>,
): boolean {
  const staged = Boolean(
    strategy?.canary || strategy?.waves?.length || strategy?.maxUnavailable || strategy?.bakeTime,
  );
  return staged || Object.values(checks).some((c) => c.length > 0);
}

/** A machine's checks: the deployment's overrides that select it replace those its Nix declares. */
export function checksFor(
  name: string,
  declared: readonly HealthCheck[] | undefined,
  overrides: readonly HealthCheckOverride[] | undefined,
  systemdByDefault: boolean,
): HealthCheck[] {
  const chosen = (overrides ?? []).filter((o) => !o.machines || globToRegExp(o.machines).test(name));
  const checks = chosen.length > 0 ? chosen.flatMap((o) => o.checks) : [...(declared ?? [])];
  // On NixOS, "no failed units" is always worth asking, as NixOps' check does.
  if (systemdByDefault && !checks.some((c) => c.systemd)) checks.push({ systemd: true });
  return checks;
}

/** What reports call a check. */
export function checkName(c: HealthCheck): string {
  if (c.name) return c.name;
  if (c.cmd !== undefined) return `cmd ${c.cmd.length > 60 ? c.cmd.slice(0, 57) + '...' : c.cmd}`;
  if (c.http) return `http ${c.http.url}`;
  return 'systemd';
}

/** The rollout's revision: what every machine should run and be checked with, and the waves. */
export function rolloutRevision(
  systems: Readonly<Record<string, string>>,
  checks: Readonly<Record<string, readonly HealthCheck[]>>,
  waves: readonly WavePlan[],
): string {
  const names = Object.keys(systems).sort();
  const body = JSON.stringify({
    systems: names.map((n) => [n, systems[n], checks[n] ?? []]),
    waves: waves.map((w) => [w.machines, w.bakeMs, w.pause, w.analysis ?? null]),
  });
  return createHash('sha256').update(body).digest('hex').slice(0, 16);
}
