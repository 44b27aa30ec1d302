// Prometheus metrics: one registry per process, created by the caller (no global state).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ReconcileReport } from '../report/report.js';

export class ReconixMetrics {
  readonly registry = new Registry();
  readonly reconcileDuration = new Histogram({
    name: 'reconix_reconcile_duration_seconds',
    help: 'Duration of one reconcile of one deployment.',
    labelNames: ['deployment', 'op', 'result'],
    buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600],
    registers: [this.registry],
  });
  readonly reconcileTotal = new Counter({
    name: 'reconix_reconcile_total',
    help: 'Reconciles by result.',
    labelNames: ['deployment', 'result'],
    registers: [this.registry],
  });
  readonly reconcileErrors = new Counter({
    name: 'reconix_reconcile_errors_total',
    help: 'Failed reconciles by condition reason.',
    labelNames: ['deployment', 'reason'],
    registers: [this.registry],
  });
  readonly machineDrifted = new Gauge({
    name: 'reconix_machine_drifted',
    help: '1 when the machine runs another system than the one Reconix activated and the drift is not corrected.',
    labelNames: ['deployment', 'machine'],
    registers: [this.registry],
  });
  readonly driftDetected = new Counter({
    name: 'reconix_drift_detected_total',
    help: 'Times a machine was found running another system than the one Reconix activated.',
    labelNames: ['deployment', 'machine'],
    registers: [this.registry],
  });
  readonly machineFailed = new Gauge({
    name: 'reconix_machine_failed',
    help: '1 when the last reconcile of the machine failed.',
    labelNames: ['deployment', 'machine'],
    registers: [this.registry],
  });
  readonly deploymentReady = new Gauge({
    name: 'reconix_deployment_ready',
    help: '1 when the last reconcile of the deployment succeeded.',
    labelNames: ['deployment'],
    registers: [this.registry],
  });
  readonly lastReconcile = new Gauge({
    name: 'reconix_last_reconcile_timestamp_seconds',
    help: 'When the deployment was last reconciled.',
    labelNames: ['deployment'],
    registers: [this.registry],
  });
  readonly activations = new Counter({
    name: 'reconix_activations_total',
    help: 'Systems activated on machines.',
    labelNames: ['deployment', 'cause'],
    registers: [this.registry],
  });
  readonly rolloutWave = new Gauge({
    name: 'reconix_rollout_wave',
    help: 'The rollout wave running, paused after or failed (1-based); the last wave once complete.',
    labelNames: ['deployment'],
    registers: [this.registry],
  });
  readonly rollbacks = new Counter({
    name: 'reconix_rollbacks_total',
    help: 'Machines switched back to their previous generation by a failed rollout, by why it failed.',
    labelNames: ['deployment', 'reason'],
    registers: [this.registry],
  });
  readonly machineKeysMissing = new Gauge({
    name: 'reconix_machine_keys_missing',
    help: 'Declared keys missing on the machine or not as declared (content, owner, mode) after the last reconcile.',
    labelNames: ['deployment', 'machine'],
    registers: [this.registry],
  });
  readonly keyDeliveries = new Counter({
    name: 'reconix_key_deliveries_total',
    help: 'Keys written to machines (first deliveries and re-deliveries after a reboot or an edit).',
    labelNames: ['deployment', 'machine'],
    registers: [this.registry],
  });
  readonly revisionInfo = new Gauge({
    name: 'reconix_source_revision_info',
    help: 'The source revision last reconciled (1 for the current one).',
    labelNames: ['deployment', 'revision'],
    registers: [this.registry],
  });
  readonly queueDepth = new Gauge({
    name: 'reconix_workqueue_depth',
    help: 'Deployments waiting to be reconciled.',
    registers: [this.registry],
  });
  readonly manifestErrors = new Gauge({
    name: 'reconix_manifest_errors',
    help: 'Manifests that failed to load or validate.',
    registers: [this.registry],
  });

  /**
   * The SSH connections a controller keeps between resyncs, read from `counts` at every scrape: kept idle now,
   * opened (handshakes) and reused since the start.
   */
  watchConnections(counts: () => { opened: number; reused: number; idle: number }): void {
    const registers = [this.registry];
    new Gauge({
      name: 'reconix_ssh_connections_kept',
      help: 'SSH connections kept open, unused, for the next resync.',
      registers,
      collect() {
        this.set(counts().idle);
      },
    });
    new Counter({
      name: 'reconix_ssh_connections_opened_total',
      help: 'SSH connections opened (handshakes).',
      registers,
      collect() {
        this.reset();
        this.inc(counts().opened);
      },
    });
    new Counter({
      name: 'reconix_ssh_connections_reused_total',
      help: 'Host sessions served by a connection kept from an earlier reconcile.',
      registers,
      collect() {
        this.reset();
        this.inc(counts().reused);
      },
    });
  }

  /**
   * Machines whose systems a reconcile evaluated, and those the evaluation cache answered, per deployment, read from
   * `counts` at every scrape: what a change cost to evaluate, and whether the cache serves the no-op resyncs.
   */
  watchEvaluations(counts: {
    entries(): [string, { evaluated: number; cached: number }][];
    forget(deployment: string): void;
  }): void {
    this.evaluations = counts;
    new Counter({
      name: 'reconix_system_evaluations_total',
      help: "Machines' systems evaluated (result=evaluated) or answered from the evaluation cache (result=cached).",
      labelNames: ['deployment', 'result'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [deployment, c] of counts.entries()) {
          this.inc({ deployment, result: 'evaluated' }, c.evaluated);
          this.inc({ deployment, result: 'cached' }, c.cached);
        }
      },
    });
  }

  private evaluations: { forget(deployment: string): void } | undefined;

  constructor(opts: { processMetrics?: boolean } = {}) {
    if (opts.processMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'reconix_' });
  }

  /** Record one reconcile's outcome. */
  record(report: ReconcileReport): void {
    const d = report.deployment;
    const result = report.ok ? 'success' : 'error';
    this.reconcileDuration.observe({ deployment: d, op: report.op, result }, report.durationMs / 1000);
    this.reconcileTotal.inc({ deployment: d, result });
    if (!report.ok) this.reconcileErrors.inc({ deployment: d, reason: report.reason });
    this.lastReconcile.set({ deployment: d }, Date.parse(report.startedAt) / 1000);
    this.deploymentReady.set({ deployment: d }, report.ok ? 1 : 0);
    if (report.revision) {
      const prev = this.revisions.get(d);
      if (prev !== undefined && prev !== report.revision)
        this.revisionInfo.remove({ deployment: d, revision: prev });
      this.revisions.set(d, report.revision);
      this.revisionInfo.set({ deployment: d, revision: report.revision }, 1);
    }
    if (report.rollout) {
      this.rolloutWave.set({ deployment: d }, report.rollout.currentWave);
      const back = Object.values(report.machines).filter((m) => m.rolledBack).length;
      if (back > 0)
        this.rollbacks.inc({ deployment: d, reason: rollbackReason(report.rollout.failed?.check) }, back);
    }
    for (const m of Object.values(report.machines)) {
      const drifting = m.outcome === 'drift-reported' || (report.op !== 'deploy' && m.verdict === 'drifted');
      this.machineDrifted.set({ deployment: d, machine: m.machine }, drifting ? 1 : 0);
      if (m.verdict === 'drifted') this.driftDetected.inc({ deployment: d, machine: m.machine });
      if (m.outcome === 'activated' || m.outcome === 'drift-corrected') {
        this.activations.inc({ deployment: d, cause: m.outcome === 'drift-corrected' ? 'drift' : 'change' });
      }
      this.machineFailed.set({ deployment: d, machine: m.machine }, m.error ? 1 : 0);
      if (m.keys) {
        this.machineKeysMissing.set({ deployment: d, machine: m.machine }, m.keys.missing.length);
        if (m.keys.delivered.length > 0)
          this.keyDeliveries.inc({ deployment: d, machine: m.machine }, m.keys.delivered.length);
      }
      (this.machines.get(d) ?? this.machines.set(d, new Set()).get(d)!).add(m.machine);
    }
    // A reconcile that got as far as the machines lists every machine of the spec: the others left it.
    if (report.error?.scope !== 'deployment') {
      const inSpec = new Set(
        Object.values(report.machines)
          .filter((m) => m.verdict !== 'obsolete' && m.outcome !== 'destroyed' && m.outcome !== 'obsolete')
          .map((m) => m.machine),
      );
      for (const machine of this.machines.get(d) ?? [])
        if (!inSpec.has(machine)) this.dropMachine(d, machine);
    }
  }

  private readonly machines = new Map<string, Set<string>>();
  private readonly revisions = new Map<string, string>();

  /** Forget every series of a machine that left its deployment's spec. */
  private dropMachine(d: string, machine: string): void {
    for (const metric of [
      this.machineDrifted,
      this.machineFailed,
      this.machineKeysMissing,
      this.driftDetected,
      this.keyDeliveries,
    ]) {
      metric.remove({ deployment: d, machine });
    }
    this.machines.get(d)?.delete(machine);
  }

  /** Forget every series of a deployment that is gone, whatever its other labels. */
  dropDeployment(d: string): void {
    for (const machine of [...(this.machines.get(d) ?? [])]) this.dropMachine(d, machine);
    this.machines.delete(d);
    this.revisions.delete(d);
    this.evaluations?.forget(d);
    for (const metric of [
      this.reconcileDuration,
      this.reconcileTotal,
      this.reconcileErrors,
      this.deploymentReady,
      this.lastReconcile,
      this.activations,
      this.rolloutWave,
      this.rollbacks,
      this.revisionInfo,
      this.machineDrifted,
      this.machineFailed,
      this.machineKeysMissing,
      this.driftDetected,
      this.keyDeliveries,
    ] as const) {
      void removeMatching(metric, d);
    }
  }
}

type Labelled = Counter<string> | Gauge<string> | Histogram<string>;

/** Remove every series of `metric` whose deployment label is `d`, whatever its other labels. */
async function removeMatching(metric: Labelled, d: string): Promise<void> {
  for (const { labels } of (await metric.get()).values) {
    if (labels.deployment !== d) continue;
    const { le: _bucket, ...own } = labels as Record<string, string | number>;
    metric.remove(own);
  }
}

/** Why a rollout rolled machines back, as a bounded label: what kind of gate failed. */
function rollbackReason(check: string | undefined): string {
  if (check === 'activation') return 'ActivationFailed';
  if (check === 'build') return 'BuildFailed';
  if (check === 'analysis') return 'AnalysisFailed';
  return 'HealthCheckFailed';
}
