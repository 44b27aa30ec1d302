// Kubernetes Events for a NixDeployment, aggregated as client-go's recorder does: the same object, type, reason
// and message again bumps the count and lastTimestamp of the existing Event instead of creating a new one, and a
// token bucket per object keeps a flapping deployment from flooding the API server. Recording never throws.
import { randomBytes } from 'node:crypto';
import type { CoreV1Event } from '@kubernetes/client-node';
import { Reason } from '../../api/conditions.js';
import type { Logger } from '../../core/ports.js';
import type { MachineReport, ReconcileReport } from '../../report/report.js';
import { MERGE_PATCH, type EventApi } from '../../kube/api.js';
import { isNotFound, kubeMessage } from '../../kube/errors.js';
import type { NixDeploymentObject } from '../../kube/object.js';
import { listNames, truncate } from './status.js';

export type EventType = 'Normal' | 'Warning';

export interface EventRecorderOptions {
  api: EventApi;
  /** source.component and reportingController. */
  component: string;
  /** reportingInstance: this replica. */
  instance: string;
  log: Logger;
  now?: () => Date;
  /** Distinct events remembered for aggregation. */
  cacheSize?: number;
  /** Events an object may burst before it is limited to one per `refillMs`. */
  burst?: number;
  refillMs?: number;
}

interface Seen {
  name: string;
  count: number;
  firstTimestamp: string;
}

interface Bucket {
  tokens: number;
  at: number;
}

// An Event's message may be up to 1 KiB in events.k8s.io; keep ours below that everywhere.
const MAX_EVENT_MESSAGE = 1024;

export class EventRecorder {
  private readonly seen = new Map<string, Seen>();
  private readonly buckets = new Map<string, Bucket>();
  private readonly now: () => Date;

  constructor(private readonly opts: EventRecorderOptions) {
    this.now = opts.now ?? (() => new Date());
  }

  async record(obj: NixDeploymentObject, type: EventType, reason: string, message: string): Promise<void> {
    const text = truncate(message, MAX_EVENT_MESSAGE);
    const uid = obj.metadata.uid ?? `${obj.metadata.namespace}/${obj.metadata.name}`;
    const key = [uid, type, reason, text].join('\0');
    const now = this.now().toISOString();
    const prior = this.seen.get(key);
    try {
      if (prior) {
        if (!this.take(uid)) return;
        prior.count += 1;
        this.touch(key, prior);
        try {
          await this.opts.api.patchNamespacedEvent(
            {
              name: prior.name,
              namespace: obj.metadata.namespace,
              body: { count: prior.count, lastTimestamp: now },
            },
            MERGE_PATCH,
          );
          return;
        } catch (err) {
          if (!isNotFound(err)) throw err;
          // The Event expired (the API server keeps them for an hour): start a new one.
          this.seen.delete(key);
        }
      } else if (!this.take(uid)) {
        return;
      }
      const name = `${obj.metadata.name}.${Date.now().toString(16)}${randomBytes(3).toString('hex')}`;
      await this.opts.api.createNamespacedEvent({
        namespace: obj.metadata.namespace,
        body: this.event(obj, name, type, reason, text, now),
      });
      this.touch(key, { name, count: 1, firstTimestamp: now });
    } catch (err) {
      this.opts.log.warn('could not record an event', {
        object: `${obj.metadata.namespace}/${obj.metadata.name}`,
        reason,
        error: kubeMessage(err),
      });
    }
  }

  private event(
    obj: NixDeploymentObject,
    name: string,
    type: EventType,
    reason: string,
    message: string,
    now: string,
  ): CoreV1Event {
    return {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace: obj.metadata.namespace },
      involvedObject: {
        apiVersion: obj.apiVersion ?? '',
        kind: obj.kind ?? '',
        name: obj.metadata.name,
        namespace: obj.metadata.namespace,
        ...(obj.metadata.uid ? { uid: obj.metadata.uid } : {}),
      },
      type,
      reason,
      message,
      count: 1,
      firstTimestamp: new Date(now),
      lastTimestamp: new Date(now),
      source: { component: this.opts.component },
      reportingComponent: this.opts.component,
      reportingInstance: this.opts.instance,
    };
  }

  /** Remember an event as the most recent (the cache drops the least recently seen). */
  private touch(key: string, value: Seen): void {
    this.seen.delete(key);
    this.seen.set(key, value);
    const max = this.opts.cacheSize ?? 4096;
    while (this.seen.size > max) this.seen.delete(this.seen.keys().next().value as string);
  }

  private take(uid: string): boolean {
    const burst = this.opts.burst ?? 25;
    const refillMs = this.opts.refillMs ?? 300_000;
    const t = this.now().getTime();
    const b = this.buckets.get(uid) ?? { tokens: burst, at: t };
    b.tokens = Math.min(burst, b.tokens + (t - b.at) / refillMs);
    b.at = t;
    this.buckets.set(uid, b);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  /** Forget a deleted object. */
  forget(obj: NixDeploymentObject): void {
    const uid = obj.metadata.uid ?? `${obj.metadata.namespace}/${obj.metadata.name}`;
    this.buckets.delete(uid);
    for (const key of [...this.seen.keys()]) if (key.startsWith(`${uid}\0`)) this.seen.delete(key);
  }
}

export interface Note {
  type: EventType;
  reason: string;
  message: string;
}

/**
 * The events one reconcile is worth: one per kind of change, naming the machines (bounded), so that a thousand
 * machines activated make one event, and the same drift found again makes the same message (aggregated).
 */
export function eventsFor(report: ReconcileReport): Note[] {
  const ms = Object.values(report.machines);
  const notes: Note[] = [];
  const add = (type: EventType, reason: string, which: MachineReport[], say: (names: string) => string) => {
    if (which.length > 0) notes.push({ type, reason, message: say(listNames(which)) });
  };
  const at = report.revision ? ` at ${report.revision}` : '';
  add(
    'Normal',
    'Created',
    ms.filter((m) => m.created),
    (n) => `created ${n}`,
  );
  add(
    'Normal',
    'Activated',
    ms.filter((m) => m.outcome === 'activated'),
    (n) => `activated the new system${at} on ${n}`,
  );
  add(
    'Normal',
    'DriftCorrected',
    ms.filter((m) => m.outcome === 'drift-corrected'),
    (n) => `re-activated the expected system on ${n}`,
  );
  add(
    'Warning',
    Reason.DriftDetected,
    ms.filter((m) => m.outcome === 'drift-reported'),
    (n) => `running another system than the one activated: ${n}`,
  );
  add(
    'Warning',
    'RolledBack',
    ms.filter(
      (m) =>
        !m.rolledBack &&
        (m.outcome === 'rolled-back' || m.error?.message.includes('rolled back to generation')),
    ),
    (n) => `activation failed and rolled back on ${n}`,
  );
  add(
    'Warning',
    'RolledBack',
    ms.filter((m) => m.rolledBack),
    (n) => `the rollout failed: switched back to the previous generation on ${n}`,
  );
  if (!report.ok) notes.push({ type: 'Warning', reason: report.reason, message: report.message });
  return notes;
}
