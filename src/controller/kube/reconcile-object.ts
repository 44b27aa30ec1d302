// One reconcile of one NixDeployment object, read top to bottom: handle deletion, hold the finalizer, say we are
// at it, read the Secrets and the network source, run the reconciler core, write the status, emit events.
// What the controller should do next is returned, not decided here.
import { ConditionType, Reason } from '../../api/conditions.js';
import { failureOf, type Failure } from '../../core/errors.js';
import type { NixDeploymentStatus } from '../../api/deployment.js';
import type { ReconixMetrics } from '../../metrics/metrics.js';
import type { ReconcileDeps } from '../../observe/run.js';
import type { ReconcileRequest } from '../../core/request.js';
import { destroy, type MachineResult } from '../../apply/operations.js';
import type { Logger } from '../../core/ports.js';
import { reconcileDeployment } from '../../reconcile/reconciler.js';
import type { ReconcileReport } from '../../report/report.js';
import type { FleetBoard } from '../../fleet/board.js';
import { DEFAULT_INTERVAL_MS, DEFAULT_RETRY_MS, requestFor } from '../../source/deployments.js';
import { parseDuration as parseDurationMs } from '../../util/duration.js';
import type { NixDeploymentClient, SecretApi } from '../../kube/api.js';
import { retryTransient } from '../../kube/errors.js';
import { eventsFor, type EventRecorder } from './events.js';
import {
  FINALIZER,
  hasFinalizer,
  isDeleting,
  keyOf,
  requestedAt,
  RESUME,
  type NixDeploymentObject,
} from '../../kube/object.js';
import { readDeploymentSecrets, type DeploymentSecrets } from './secrets.js';
import type { SourceResolver } from './source.js';
import { recordingSecrets, secretNamesOf, type SecretVersions } from './secret-watch.js';
import { conditionOf, failureOfOutcome, progressingStatus, resultStatus } from './status.js';

/**
 * What the controller does with the key afterwards. `stall`: nothing until the object, one of its Secrets (named
 * in `secrets`, with the versions this reconcile saw) or its network files change.
 */
export type Next =
  | { kind: 'requeue'; afterMs: number }
  | { kind: 'retry'; baseMs: number; maxMs: number }
  | { kind: 'stall'; namespace: string; secrets: string[]; seen: SecretVersions }
  | { kind: 'forget' };

export interface ObjectReconcilerOptions {
  client: NixDeploymentClient;
  secrets: SecretApi;
  events: EventRecorder;
  sources: SourceResolver;
  /** The reconciler's dependencies for one deployment, with its credentials (and only those). */
  depsFor: (id: string, secrets: DeploymentSecrets, destroying: boolean) => ReconcileDeps;
  log: Logger;
  metrics?: ReconixMetrics;
  reconcile?: (req: ReconcileRequest, deps: ReconcileDeps) => Promise<ReconcileReport>;
  destroy?: (req: ReconcileRequest, deps: ReconcileDeps) => Promise<MachineResult<string>[]>;
  now?: () => Date;
  /** Called as a reconcile of a live object starts (latency measurements, tests). */
  onStart?: (id: string, obj: NixDeploymentObject) => void;
  /** The fleet page's view, fed each reconcile's progress and outcome. */
  fleet?: FleetBoard;
}

export class ObjectReconciler {
  private readonly now: () => Date;

  constructor(private readonly opts: ObjectReconcilerOptions) {
    this.now = opts.now ?? (() => new Date());
  }

  /** `signal` cancels the reconcile at its next safe point (this replica lost its lease). */
  async reconcile(input: NixDeploymentObject, signal?: AbortSignal): Promise<Next> {
    let obj = input;
    const id = keyOf(obj);
    // Deletion: destroy what we created, then let the object go.
    if (isDeleting(obj)) return hasFinalizer(obj) ? this.finalize(obj) : { kind: 'forget' };

    // Hold the finalizer before creating anything, so nothing we make can outlive the object unnoticed.
    if (!hasFinalizer(obj)) obj = await this.addFinalizer(obj);

    const interval = durationOr(obj.spec.interval, DEFAULT_INTERVAL_MS);
    const retry = {
      kind: 'retry',
      baseMs: durationOr(obj.spec.retryInterval, DEFAULT_RETRY_MS),
      maxMs: interval,
    } as const;
    if (obj.spec.suspend) {
      this.opts.log.info('deployment suspended', { deployment: id });
      return { kind: 'requeue', afterMs: interval };
    }
    this.opts.onStart?.(id, obj);

    // Say that a new spec or a request is being worked on (a periodic resync does not write).
    const generation = obj.metadata.generation ?? 0;
    const asked = requestedAt(obj);
    let status = obj.status;
    if (status?.observedGeneration !== generation || (asked && asked !== status.lastHandledRequestedAt)) {
      status = await this.writeStatus(
        obj,
        progressingStatus(status, generation, this.stamp(), `reconciling generation ${generation}`),
      );
    }

    // Credentials and the network, then the reconciler core.
    let report: ReconcileReport | undefined;
    let failure: Failure | undefined;
    let revision: string | undefined;
    let source: NixDeploymentStatus['source'];
    const seen: SecretVersions = {};
    try {
      const secrets = await readDeploymentSecrets(recordingSecrets(this.opts.secrets, seen), obj);
      const resolved = await this.opts.sources.resolve(obj);
      revision = resolved.revision;
      const f = resolved.flux;
      if (f)
        source = {
          kind: f.kind,
          name: f.name,
          namespace: f.namespace,
          revision: f.revision,
          digest: f.digest,
        };
      // A new requestedAt tries a failed rollout again; reconix.dev/resume resumes a paused one.
      const resume = obj.metadata.annotations?.[RESUME];
      const req = {
        ...requestFor(id, obj.spec, resolved.source, 'deploy', { revision }),
        ...(signal ? { signal } : {}),
        ...(resume ? { resume } : {}),
        ...(asked && asked !== obj.status?.lastHandledRequestedAt ? { retryFailedRollout: true } : {}),
      };
      const core = this.opts.reconcile ?? reconcileDeployment;
      report = await (this.opts.fleet ? this.opts.fleet.track(core) : core)(
        req,
        this.opts.depsFor(id, secrets, false),
      );
    } catch (err) {
      failure = failureOf(err);
      this.opts.fleet?.failed(id, failure);
      this.opts.log.error('reconcile failed', {
        deployment: id,
        reason: failure.reason,
        reaction: failure.reaction,
        error: failure.message,
      });
    }
    const outcome = { ...(report ? { report } : {}), ...(failure ? { failure } : {}) };
    const failed = failureOfOutcome(outcome);
    const reason = failed?.reason ?? report?.reason ?? Reason.ReconciliationSucceeded;

    // Status, events and metrics say what happened.
    const result = resultStatus(status, {
      generation,
      now: this.stamp(),
      ...outcome,
      ...(revision ? { revision } : {}),
      ...(asked ? { requestedAt: asked } : {}),
    });
    await this.writeStatus(obj, source ? { ...result, source } : result);
    const notes = report
      ? eventsFor(report)
      : [{ type: 'Warning' as const, reason, message: failure?.message ?? '' }];
    for (const n of notes) await this.opts.events.record(obj, n.type, n.reason, n.message);
    if (report) this.opts.metrics?.record(report);
    else {
      this.opts.metrics?.reconcileErrors.inc({ deployment: id, reason });
      this.opts.metrics?.deploymentReady.set({ deployment: id }, 0);
    }
    // The failure's reaction decides when to come back.
    switch (failed?.reaction) {
      case undefined:
        return { kind: 'requeue', afterMs: interval };
      case 'stall':
        this.opts.log.warn(
          'reconcile stalled: waiting for a change to the object, its Secrets or its files',
          {
            deployment: id,
            reason,
          },
        );
        return { kind: 'stall', namespace: obj.metadata.namespace, secrets: secretNamesOf(obj), seen };
      case 'wait':
        return { kind: 'requeue', afterMs: retry.baseMs };
      case 'retry':
        return retry;
    }
  }

  /** Destroy what the deployment created; drop the finalizer only when that is done. */
  private async finalize(obj: NixDeploymentObject): Promise<Next> {
    const id = keyOf(obj);
    const generation = obj.metadata.generation ?? 0;
    this.opts.log.info('deployment deleted: destroying what it created', { deployment: id });
    let status = obj.status;
    if (conditionOf(status, ConditionType.Reconciling)?.status !== 'True') {
      status = await this.writeStatus(
        obj,
        progressingStatus(status, generation, this.stamp(), 'destroying the machines'),
      );
    }
    let failed: MachineResult<string>[];
    let destroyed = 0;
    try {
      // The Secrets may be gone already (a namespace being deleted): destroying local hosts needs none.
      const secrets = await readDeploymentSecrets(this.opts.secrets, obj).catch(() => ({}));
      const source = { deployment: obj.metadata.name, files: [], args: {}, builder: 'auto' as const };
      const req = requestFor(id, obj.spec, source, 'deploy');
      const results = await (this.opts.destroy ?? destroy)(req, this.opts.depsFor(id, secrets, true));
      failed = results.filter((r) => !r.ok);
      destroyed = results.length - failed.length;
    } catch (err) {
      failed = [{ machine: '(all)', ok: false, error: failureOf(err) }];
    }
    if (failed.length === 0) {
      await this.opts.events.record(obj, 'Normal', 'Destroyed', `destroyed ${destroyed} machine(s)`);
      await this.removeFinalizer(obj);
      this.opts.metrics?.dropDeployment(id);
      this.opts.fleet?.remove(id);
      this.opts.log.info('deployment destroyed', { deployment: id, machines: destroyed });
      return { kind: 'forget' };
    }
    const message =
      `cannot destroy ${failed.length} machine(s), the finalizer stays until it can: ` +
      failed.map((f) => `${f.machine}: ${f.error?.message ?? 'failed'}`).join('; ');
    await this.writeStatus(
      obj,
      resultStatus(status, {
        generation,
        now: this.stamp(),
        failure: { reason: Reason.DestroyFailed, message, reaction: 'retry' },
      }),
    ).catch(() => undefined);
    await this.opts.events.record(obj, 'Warning', Reason.DestroyFailed, message);
    const retryMs = durationOr(obj.spec.retryInterval, DEFAULT_RETRY_MS);
    return { kind: 'retry', baseMs: retryMs, maxMs: durationOr(obj.spec.interval, DEFAULT_INTERVAL_MS) };
  }

  private async addFinalizer(obj: NixDeploymentObject): Promise<NixDeploymentObject> {
    const ops = obj.metadata.finalizers
      ? [{ op: 'add', path: '/metadata/finalizers/-', value: FINALIZER }]
      : [{ op: 'add', path: '/metadata/finalizers', value: [FINALIZER] }];
    return retryTransient(() => this.opts.client.patch(obj, ops));
  }

  private async removeFinalizer(obj: NixDeploymentObject): Promise<void> {
    const i = (obj.metadata.finalizers ?? []).indexOf(FINALIZER);
    // The test makes the removal safe against a finalizer list that changed since we read it.
    const ops = [
      { op: 'test', path: `/metadata/finalizers/${i}`, value: FINALIZER },
      { op: 'remove', path: `/metadata/finalizers/${i}` },
    ];
    await retryTransient(() => this.opts.client.patch(obj, ops));
  }

  private async writeStatus(
    obj: NixDeploymentObject,
    status: NixDeploymentStatus,
  ): Promise<NixDeploymentStatus> {
    const updated = await retryTransient(() => this.opts.client.patchStatus(obj, status));
    return updated.status ?? status;
  }

  private stamp(): string {
    // Conditions carry whole seconds (metav1.Time).
    return this.now()
      .toISOString()
      .replace(/\.\d+Z$/, 'Z');
  }
}

function durationOr(text: string | undefined, fallback: number): number {
  return text ? parseDurationMs(text) : fallback;
}
