// Planning is pure: (desired, observed, recorded) -> actions. No I/O, no clock.
import type { ActivationMode, DriftPolicy } from '../api/deployment.js';
import type {
  DeploymentState,
  HostObservation,
  MachinePhysical,
  PhysicalView,
  SystemRef,
  TargetObservation,
} from '../core/model.js';
import type { Action, MachinePlan, Plan } from './actions.js';

export interface TargetPlanInput {
  physical: PhysicalView;
  /** Selected machines only. */
  selected: readonly string[];
  observed: Readonly<Record<string, TargetObservation | undefined>>;
  recorded: DeploymentState;
  /** Whether a provider creates machines of this env (false for `none`). */
  creates: (env: string) => boolean;
  /** Destroy created targets whose machine left the spec (NixOps' --kill-obsolete). */
  killObsolete: boolean;
}

/** Phase A: which targets must be created, started or destroyed. */
export function planTargets(input: TargetPlanInput): Plan {
  const machines: MachinePlan[] = [];
  const actions: Action[] = [];
  for (const name of input.selected) {
    const m: MachinePhysical | undefined = input.physical.machines[name];
    if (!m) continue;
    const obs = input.observed[name];
    if (!obs) {
      machines.push({ machine: name, env: m.targetEnv, verdict: 'unknown', note: 'not observed' });
    } else if (!obs.exists) {
      if (input.creates(m.targetEnv)) {
        actions.push({ kind: 'create-target', machine: name, env: m.targetEnv });
        machines.push({ machine: name, env: m.targetEnv, verdict: 'create' });
      } else {
        machines.push({
          machine: name,
          env: m.targetEnv,
          verdict: 'unreachable',
          note: obs.detail ?? 'missing',
        });
      }
    } else if (!obs.running) {
      actions.push({
        kind: 'start-target',
        machine: name,
        env: m.targetEnv,
        why: obs.detail ?? 'not running',
      });
      machines.push({ machine: name, env: m.targetEnv, verdict: 'start', note: obs.detail ?? 'not running' });
    } else {
      machines.push({ machine: name, env: m.targetEnv, verdict: 'up-to-date' });
    }
  }
  for (const [name, rec] of Object.entries(input.recorded.machines)) {
    if (input.physical.machines[name]) continue;
    if (input.killObsolete && rec.target && input.creates(rec.targetEnv)) {
      actions.push({ kind: 'destroy-target', machine: name, env: rec.targetEnv });
      machines.push({ machine: name, env: rec.targetEnv, verdict: 'destroy' });
    } else {
      machines.push({
        machine: name,
        env: rec.targetEnv,
        verdict: 'obsolete',
        note: 'no longer in the spec',
      });
    }
  }
  return { machines, actions };
}

export type HostView = { ok: true; observation: HostObservation } | { ok: false; error: string };

export interface SystemPlanInput {
  env: Readonly<Record<string, string>>;
  desired: Readonly<Record<string, SystemRef>>;
  hosts: Readonly<Record<string, HostView | undefined>>;
  recorded: DeploymentState;
  /** Store paths already valid in the local store (no build needed). */
  builtLocally: ReadonlySet<string>;
  driftPolicy: DriftPolicy;
  mode: ActivationMode;
  /** Activate even when the host already runs the target (NixOps' --always-activate). */
  alwaysActivate?: boolean;
}

/** The system a machine should run: the spec's, unless a rollback holds it back while the spec is unchanged. */
export function targetSystem(
  desired: SystemRef,
  hold: { system: string; whileDesired: string } | undefined,
): { system: string; held: boolean } {
  if (hold && hold.whileDesired === desired.outPath)
    return { system: hold.system, held: hold.system !== desired.outPath };
  return { system: desired.outPath, held: false };
}

/** Phase B: which machines must be built, copied and activated, and which drifted. */
export function planSystems(input: SystemPlanInput): Plan {
  const machines: MachinePlan[] = [];
  const actions: Action[] = [];
  for (const [name, desired] of Object.entries(input.desired)) {
    const env = input.env[name] ?? 'none';
    const rec = input.recorded.machines[name];
    const { system, held } = targetSystem(desired, rec?.hold);
    const host = input.hosts[name];
    if (!host || !host.ok) {
      machines.push({
        machine: name,
        env,
        verdict: 'unreachable',
        system,
        note: host ? host.error : 'not observed',
      });
      continue;
    }
    // `boot` only changes what the next boot runs, so it is judged by the profile.
    const current = input.mode === 'boot' ? host.observation.profileSystem : host.observation.currentSystem;
    const activated = rec?.activated?.system;
    const base = { machine: name, env, system, ...(current ? { current } : {}) };
    if (current === system && !input.alwaysActivate) {
      machines.push({ ...base, verdict: held ? 'held' : 'up-to-date' });
      continue;
    }
    const drifted = current !== undefined && activated === system && current !== system;
    if (drifted && input.driftPolicy === 'Report') {
      actions.push({ kind: 'report-drift', machine: name, expected: system, actual: current });
      machines.push({ ...base, verdict: 'drifted', note: 'driftPolicy Report: not corrected' });
      continue;
    }
    // A held system is an old generation: the host has it, so only the spec's own system is ever built.
    if (!input.builtLocally.has(system) && system === desired.outPath) {
      actions.push({ kind: 'build', machine: name, drvPath: desired.drvPath, outPath: desired.outPath });
    }
    actions.push({ kind: 'copy', machine: name, system });
    const cause = drifted
      ? 'drift'
      : activated === undefined
        ? 'new'
        : rec?.hold && !held
          ? 'rollback-released'
          : 'changed';
    actions.push({ kind: 'activate', machine: name, system, mode: input.mode, cause });
    machines.push({ ...base, verdict: drifted ? 'drifted' : 'update' });
  }
  return { machines, actions };
}

/** Merge the two phases into one plan for display: a machine's verdict from phase B wins when it has one. */
export function mergePlans(a: Plan, b: Plan): Plan {
  const byName = new Map(a.machines.map((m) => [m.machine, m]));
  for (const m of b.machines) {
    const prev = byName.get(m.machine);
    const keepA = prev && (prev.verdict === 'create' || prev.verdict === 'start') && m.verdict === 'update';
    byName.set(m.machine, keepA ? { ...m, verdict: prev.verdict } : m);
  }
  return { machines: [...byName.values()], actions: [...a.actions, ...b.actions] };
}

/** A glob of machine names (`*` and `?`) as an anchored regular expression. */
export function globToRegExp(glob: string): RegExp {
  return new RegExp(
    '^' +
      glob
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*/g, '.*')
        .replace(/\?/g, '.') +
      '$',
  );
}

/**
 * Select machines with NixOps-style --include / --exclude lists: globs (`*` and `?`) of names, or `@tag` for
 * the machines with that deployment.tags entry (colmena's syntax).
 */
export function selectMachines(
  names: readonly string[],
  include: readonly string[] | undefined,
  exclude: readonly string[] | undefined,
  tagsOf: (name: string) => readonly string[] = () => [],
): string[] {
  const matcher = (pattern: string) => {
    if (pattern.startsWith('@')) {
      const tag = globToRegExp(pattern.slice(1));
      return (n: string) => tagsOf(n).some((t) => tag.test(t));
    }
    const re = globToRegExp(pattern);
    return (n: string) => re.test(n);
  };
  const inc = include && include.length > 0 ? include.map(matcher) : undefined;
  const exc = (exclude ?? []).map(matcher);
  return names.filter((n) => (!inc || inc.some((m) => m(n))) && !exc.some((m) => m(n))).sort();
}
