// What the fleet page shows, kept up to date by a controller: the last report of each deployment, overlaid with the
// progress events of the reconcile running now. A stage this file does not know is drawn as it arrives.
import { failureOf } from '../core/errors.js';
import type { ProgressEvent, ProgressSink } from '../core/progress.js';
import type { ReconcileRequest } from '../core/request.js';
import type { MachineReport, ReconcileReport } from '../report/report.js';
import {
  FLEET_VIEW_VERSION,
  type DeploymentState,
  type FleetDeployment,
  type FleetMachine,
  type FleetRollout,
  type FleetView,
} from './view.js';

type Live = Omit<FleetMachine, 'name' | 'state' | 'outcome' | 'system' | 'generation'> & {
  state?: FleetMachine['state'];
};

interface Running {
  since: string;
  stage?: string;
  machines: Map<string, Live>;
}

interface Entry {
  report?: ReconcileReport;
  /** A failure that left no report (a Secret missing before the reconcile began). */
  failure?: { reason: string; message: string; at: string };
  /** The machines as last reported: a deployment that fails before observing them keeps them. */
  machines: FleetMachine[];
  rollout?: FleetRollout;
  running?: Running;
}

/** Stages after which a machine is done in this reconcile; its state then comes from the report. */
const SETTLED = new Set(['done', 'skipped']);
const FAILED = new Set(['failed', 'rolled-back']);

export class FleetBoard {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly now: () => Date = () => new Date()) {}

  /** A reconcile of `name` begins. */
  started(name: string): void {
    this.entry(name).running = { since: this.now().toISOString(), machines: new Map() };
  }

  /** The sink a reconcile reports its progress to. */
  readonly progress: ProgressSink = (event) => {
    if (event.type === 'output') return;
    const running = this.entries.get(event.deployment)?.running;
    if (!running) return; // late events of a reconcile that has ended: the report says it all
    this.apply(this.entries.get(event.deployment)!, running, event);
  };

  finished(report: ReconcileReport): void {
    const e = this.entry(report.deployment);
    e.report = report;
    delete e.failure;
    delete e.running;
    const machines = Object.values(report.machines);
    if (machines.length > 0 || report.ok) e.machines = machines.map(machineOf(report)).sort(byName);
  }

  failed(name: string, failure: { reason: string; message: string }): void {
    const e = this.entry(name);
    e.failure = { reason: failure.reason, message: failure.message, at: this.now().toISOString() };
    delete e.running;
  }

  remove(name: string): void {
    this.entries.delete(name);
  }

  /** `reconcile` with its start, progress and report shown here. */
  track<A extends unknown[]>(
    reconcile: (req: ReconcileRequest, ...rest: A) => Promise<ReconcileReport>,
  ): (req: ReconcileRequest, ...rest: A) => Promise<ReconcileReport> {
    return async (req, ...rest) => {
      this.started(req.name);
      const outer = req.progress;
      const progress: ProgressSink = (event) => {
        this.progress(event);
        outer?.(event);
      };
      try {
        const report = await reconcile({ ...req, progress }, ...rest);
        this.finished(report);
        return report;
      } catch (err) {
        this.failed(req.name, failureOf(err));
        throw err;
      }
    };
  }

  view(): FleetView {
    const deployments = [...this.entries]
      .sort(([a], [b]) => natural(a, b))
      .map(([name, e]) => deploymentOf(name, e));
    return { version: FLEET_VIEW_VERSION, generatedAt: this.now().toISOString(), deployments };
  }

  private entry(name: string): Entry {
    let e = this.entries.get(name);
    if (!e) this.entries.set(name, (e = { machines: [] }));
    return e;
  }

  private apply(e: Entry, running: Running, event: Exclude<ProgressEvent, { type: 'output' }>): void {
    if (event.type === 'deployment') {
      running.stage = event.stage;
      return;
    }
    if (event.type === 'wave') {
      e.rollout = {
        wave: event.wave,
        waves: event.waves,
        state: event.state,
        machines: [...event.machines],
        ...text(event),
      };
      return;
    }
    const live: Live = { stage: event.stage, ...text(event) };
    if (FAILED.has(event.stage)) live.state = 'failed';
    else if (!SETTLED.has(event.stage)) live.state = 'rolling-out';
    if (event.wave !== undefined) live.wave = event.wave;
    if (event.built) live.built = { ...event.built };
    if (event.copied) live.copied = { ...event.copied };
    running.machines.set(event.machine, live);
  }
}

function text(event: { reason?: string; message?: string }): { reason?: string; message?: string } {
  return {
    ...(event.reason !== undefined ? { reason: event.reason } : {}),
    ...(event.message !== undefined ? { message: event.message } : {}),
  };
}

function natural(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

function byName(a: { name: string }, b: { name: string }): number {
  return natural(a.name, b.name);
}

function machineOf(report: ReconcileReport): (m: MachineReport) => FleetMachine {
  return (m) => {
    const failed = m.outcome === 'failed' || m.outcome === 'unreachable' || m.error !== undefined;
    const drifted = m.outcome === 'drift-reported' || (report.op !== 'deploy' && m.verdict === 'drifted');
    const state: FleetMachine['state'] = failed
      ? 'failed'
      : drifted
        ? 'drifted'
        : m.outcome === 'planned'
          ? 'pending'
          : m.outcome === 'obsolete' || m.outcome === 'destroyed'
            ? 'obsolete'
            : 'ready';
    return {
      name: m.machine,
      state,
      outcome: m.outcome,
      ...(m.current ? { system: m.current } : {}),
      ...(m.generation !== undefined ? { generation: m.generation } : {}),
      ...(m.error ? { reason: m.error.reason, message: m.error.message } : {}),
      ...(drifted && !m.error
        ? { reason: 'Drifted', message: 'the host runs another system than the one activated' }
        : {}),
    };
  };
}

function deploymentOf(name: string, e: Entry): FleetDeployment {
  const { report, failure, running } = e;
  const machines = e.machines.map((m) => overlay(m, running?.machines.get(m.name)));
  // Machines the reconcile running now reports before the last report knew them (a new machine).
  for (const [machine, live] of running?.machines ?? [])
    if (!e.machines.some((m) => m.name === machine))
      machines.push({ name: machine, state: 'pending', ...live });
  // A periodic resync does not hide the last outcome: only machines rolling out, or a first reconcile, show.
  let state: DeploymentState = 'pending';
  if (machines.some((m) => m.state === 'rolling-out')) state = 'rolling-out';
  else if (failure || (report && !report.ok)) state = 'failed';
  else if (machines.some((m) => m.state === 'drifted')) state = 'drifted';
  else if (report) state = 'ready';
  else if (running) state = 'reconciling';
  const drifted = machines.filter((m) => m.state === 'drifted').map((m) => m.name);
  const last = failure
    ? { reason: failure.reason, message: failure.message }
    : state === 'drifted'
      ? {
          reason: 'Drifted',
          message: `${drifted.length} of ${machines.length} machines drifted: ${drifted.join(', ')}`,
        }
      : report
        ? { reason: report.reason, message: report.message }
        : {};
  return {
    name,
    state,
    ...last,
    ...(report?.revision ? { revision: report.revision } : {}),
    ...(failure
      ? { lastReconciledAt: failure.at }
      : report
        ? { lastReconciledAt: endOf(report), durationMs: report.durationMs }
        : {}),
    ...(running ? { reconcilingSince: running.since } : {}),
    ...(running?.stage ? { stage: running.stage } : {}),
    ...(e.rollout ? { rollout: e.rollout } : {}),
    machines: machines.sort(byName),
  };
}

function overlay(m: FleetMachine, live: Live | undefined): FleetMachine {
  if (!live) return m;
  const { state, ...rest } = live;
  const base = state === 'rolling-out' ? { name: m.name, state, ...pick(m) } : { ...m };
  return { ...base, ...rest, ...(state === 'failed' ? { state } : {}) };
}

function pick(m: FleetMachine): Pick<FleetMachine, 'system' | 'generation'> {
  return {
    ...(m.system ? { system: m.system } : {}),
    ...(m.generation !== undefined ? { generation: m.generation } : {}),
  };
}

function endOf(report: ReconcileReport): string {
  return new Date(new Date(report.startedAt).getTime() + report.durationMs).toISOString();
}
