// The keys stage of a reconcile: read the declared keys' contents (in memory only), ask each host what it has,
// plan what to write or remove; and the step that writes them over the machine's SSH session.
import { Reason } from '../api/conditions.js';
import { ReconixError } from '../core/errors.js';
import type { HostView } from '../plan/plan.js';
import type { DeploymentState, PhysicalView } from '../core/model.js';
import { machineFailure, type RunContext } from '../observe/run.js';
import type { KeyReport, MachineFailure } from '../report/outcomes.js';
import type { HostSession } from '../core/ports.js';
import type { ExecResult } from '../util/exec.js';
import { keyHmac, sha256 } from '../keys/digest.js';
import { DONE_PATH, planKeys, type DeliverKeys } from '../keys/plan.js';
import {
  deliveredFsType,
  deliverScript,
  doneScript,
  isVolatile,
  parseProbe,
  probeScript,
  removeScript,
} from '../keys/remote.js';
import { localKeySource } from '../keys/resolve.js';
import {
  checkKey,
  DEFAULT_KEY_DIR,
  keyPath,
  type DesiredKey,
  type ResolvedKey,
  type RunKeys,
} from '../keys/spec.js';

/**
 * What the keys of one run work with: the run's context, its physical view and recorded state, a save, and what
 * the keys stage learns (contents in memory only, per-machine key reports, machines whose keys cannot be read).
 */
export interface KeysRun {
  ctx: RunContext;
  physical: PhysicalView;
  state: DeploymentState;
  save(): Promise<void>;
  keys: RunKeys;
  reports: Record<string, KeyReport>;
  failures: MachineFailure[];
}

export function keysRun(
  ctx: RunContext,
  physical: PhysicalView,
  state: DeploymentState,
  save: () => Promise<void>,
): KeysRun {
  return { ctx, physical, state, save, keys: new Map(), reports: {}, failures: [] };
}

/** The declared keys of the given machines: the network's deployment.keys and those of the key source. */
export async function declaredKeys(
  run: KeysRun,
  machines: readonly string[],
): Promise<Record<string, Record<string, DesiredKey>>> {
  const { deps, req } = run.ctx;
  const withNixKeys = machines.filter((n) => (run.physical.machines[n]?.keys.length ?? 0) > 0);
  const fromNix =
    withNixKeys.length > 0 && deps.evaluator.keys ? await deps.evaluator.keys(req.source, withNixKeys) : {};
  const extra = deps.keySource?.declared?.(machines) ?? {};
  const out: Record<string, Record<string, DesiredKey>> = {};
  for (const n of machines) out[n] = { ...fromNix[n], ...extra[n] };
  return out;
}

/** Read the content of every declared key of one machine; a failure fails the machine, naming the key. */
export async function resolveKeys(
  run: KeysRun,
  machine: string,
  declared: Readonly<Record<string, DesiredKey>>,
): Promise<Map<string, ResolvedKey>> {
  const source = run.ctx.deps.keySource ?? localKeySource();
  const out = new Map<string, ResolvedKey>();
  for (const [name, key] of Object.entries(declared).sort(([a], [b]) => a.localeCompare(b))) {
    checkKey(machine, name, key);
    const content = await source.read(machine, name, key);
    out.set(name, { key, content, sha256: sha256(content) });
  }
  return out;
}

/** Ask a host about its key files: exists, owner, group, mode and the SHA-256 of the content. */
export async function probeKeys(session: HostSession, paths: readonly string[]) {
  const r = await command(session, probeScript(paths));
  if (r.exitCode !== 0)
    throw new ReconixError(Reason.HostUnreachable, `observing keys exited with code ${r.exitCode}`);
  return parseProbe(r.stdout, paths);
}

/**
 * Observe and plan the keys of the machines that were observed. Returns the actions; machines whose keys cannot be
 * read are failed and listed, so that the caller activates nothing there.
 */
export async function planKeyStage(
  run: KeysRun,
  sessions: ReadonlyMap<string, HostSession>,
  hosts: Readonly<Record<string, HostView | undefined>>,
): Promise<{ actions: DeliverKeys[]; failed: Set<string> }> {
  const failed = new Set<string>();
  const machines = [...sessions.keys()].filter((n) => hosts[n]?.ok);
  const concerned = machines.filter(
    (n) =>
      (run.physical.machines[n]?.keys.length ?? 0) > 0 ||
      Object.keys(run.state.machines[n]?.keys ?? {}).length > 0 ||
      run.ctx.deps.keySource?.declared !== undefined,
  );
  if (concerned.length === 0) return { actions: [], failed };
  const declared = await declaredKeys(run, concerned);
  const actions: DeliverKeys[] = [];
  await Promise.all(
    concerned.map(async (name) => {
      const keys = declared[name] ?? {};
      const recorded = run.state.machines[name]?.keys;
      if (Object.keys(keys).length === 0 && Object.keys(recorded ?? {}).length === 0) return;
      try {
        const resolved = await resolveKeys(run, name, keys);
        run.keys.set(name, resolved);
        const paths = [...resolved].map(([n, r]) => keyPath(n, r.key.destDir));
        const observed = await probeKeys(sessions.get(name)!, [...paths, DONE_PATH]);
        const desired = Object.fromEntries(
          [...resolved].map(([n, r]) => [n, { key: r.key, sha256: r.sha256 }]),
        );
        const plan = planKeys({ machine: name, desired, observed, recorded });
        actions.push(...plan.actions);
        run.reports[name] = { missing: plan.missing, delivered: [] };
      } catch (err) {
        failed.add(name);
        run.failures.push({
          machine: name,
          failure: machineFailure(run.ctx, name, err, Reason.KeyUnavailable),
        });
      }
    }),
  );
  return { actions: actions.sort((a, b) => a.machine.localeCompare(b.machine)), failed };
}

/** Write, remove and mark keys on one machine, recording names and digests (never content) in the state. */
export async function applyKeyStep(run: KeysRun, step: DeliverKeys, session: HostSession): Promise<void> {
  const { deps, req } = run.ctx;
  const name = step.machine;
  const resolved = run.keys.get(name);
  const report = (run.reports[name] ??= { missing: [], delivered: [] });
  const env = run.physical.machines[name]?.targetEnv ?? 'none';
  const rec = (run.state.machines[name] ??= { targetEnv: env });
  const secret = step.keys.length > 0 ? await deps.keyHmacSecret?.(req.name) : undefined;
  for (const key of step.keys) {
    const r = resolved?.get(key);
    if (!r) throw new Error(`${name}: key ${JSON.stringify(key)} was not resolved in this run`);
    const result = await command(session, deliverScript(key, r.key), r.content);
    if (result.exitCode !== 0) {
      throw new ReconixError(
        Reason.KeyDeliveryFailed,
        `${name}: writing key ${JSON.stringify(key)} to ${r.key.destDir} ${why(result)}${tail(result.stderr)}`,
      );
    }
    const fs = deliveredFsType(result.stdout);
    if (!isVolatile(fs)) {
      const warning = `key ${JSON.stringify(key)}: ${r.key.destDir} is not a tmpfs (${fs ?? 'unknown'}): the key survives a reboot there`;
      deps.log.warn('key directory is not a tmpfs', {
        deployment: req.name,
        machine: name,
        key,
        destDir: r.key.destDir,
        fs,
      });
      report.warnings = [...(report.warnings ?? []), warning];
    }
    rec.keys = {
      ...rec.keys,
      [key]: {
        destDir: r.key.destDir,
        at: deps.clock.now().toISOString(),
        ...(secret ? { hmac: keyHmac(secret, r.content) } : {}),
      },
    };
    report.delivered.push(key);
    report.missing = report.missing.filter((k) => k !== key);
    deps.log.info('key delivered', {
      deployment: req.name,
      machine: name,
      key,
      destDir: r.key.destDir,
    });
  }
  if (step.remove.length > 0) {
    const result = await command(session, removeScript(step.remove));
    if (result.exitCode !== 0)
      throw new ReconixError(
        Reason.KeyDeliveryFailed,
        `${name}: removing undeclared keys ${why(result)}${tail(result.stderr)}`,
      );
    const gone = new Set(step.remove);
    rec.keys = Object.fromEntries(
      Object.entries(rec.keys ?? {}).filter(([k, v]) => !gone.has(keyPath(k, v.destDir)) || resolved?.has(k)),
    );
    deps.log.info('undeclared keys removed', {
      deployment: req.name,
      machine: name,
      files: step.remove,
    });
  }
  if (step.markDone) {
    const result = await command(session, doneScript());
    if (result.exitCode !== 0)
      throw new ReconixError(
        Reason.KeyDeliveryFailed,
        `${name}: marking ${DONE_PATH} ${why(result)}${tail(result.stderr)}`,
      );
  }
  await run.save();
}

/** Deliver every declared key of a machine now, whatever the host has (`reconix send-keys`). */
export function sendAllKeys(
  machine: string,
  resolved: ReadonlyMap<string, ResolvedKey>,
  remove: string[],
): DeliverKeys {
  const markDone = [...resolved.values()].some((r) => r.key.destDir.replace(/\/+$/, '') === DEFAULT_KEY_DIR);
  return {
    kind: 'deliver-keys',
    machine,
    uploadAt: 'pre-activation',
    keys: [...resolved.keys()],
    remove,
    markDone,
  };
}

async function command(session: HostSession, script: string, input?: Buffer): Promise<ExecResult> {
  if (!session.runCommand) throw new Error('this host session cannot run commands');
  return session.runCommand(script, input);
}

const why = (r: ExecResult) =>
  r.timedOut ? 'timed out' : r.signal ? `was killed by ${r.signal}` : `exited with code ${r.exitCode}`;
const tail = (stderr: string) => {
  const t = stderr.trim().split('\n').slice(-5).join('\n');
  return t ? `: ${t}` : '';
};
