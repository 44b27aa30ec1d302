// Leader election on a coordination.k8s.io/v1 Lease, as client-go's leaderelection does it: one replica holds
// the Lease and renews it every retry period; the others try every retry period and take it once it has not been
// renewed for a lease duration, measured on their own clock from when they last saw it change (so clock skew
// between nodes does not matter). A leader that cannot renew within the renew deadline stops leading, and every
// request for the Lease has a timeout, so that a partition cannot keep it waiting (and acting) past that deadline.
import { V1MicroTime, type V1Lease } from '@kubernetes/client-node';
import type { Logger } from '../../core/ports.js';
import type { LeaseApi } from '../../kube/api.js';
import { isConflict, isNotFound, kubeMessage } from '../../kube/errors.js';

export interface LeaderElectionOptions {
  api: LeaseApi;
  namespace: string;
  name: string;
  identity: string;
  log: Logger;
  /** controller-runtime's defaults: 15 s, 10 s, 2 s. */
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  /** How long one request for the Lease may take; default the retry period, always below the lease duration. */
  requestTimeoutMs?: number;
  now?: () => number;
}

export class LeaderElector {
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private readonly requestTimeoutMs: number;
  private readonly now: () => number;
  private observed: { record: string; at: number } | undefined;
  /** When the Lease held by another replica expires, by our clock. */
  private expiresAt = 0;
  private leading = false;
  private stopped = false;
  private wake: (() => void) | undefined;

  constructor(private readonly opts: LeaderElectionOptions) {
    this.leaseDurationMs = opts.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = opts.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = opts.retryPeriodMs ?? 2_000;
    this.requestTimeoutMs = Math.min(opts.requestTimeoutMs ?? this.retryPeriodMs, this.renewDeadlineMs);
    this.now = opts.now ?? Date.now;
    if (this.renewDeadlineMs >= this.leaseDurationMs)
      throw new Error('the renew deadline must be below the lease duration');
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /**
   * Wait until this replica leads, run `lead` (which starts the work and returns at once), and renew until
   * leadership is lost or stop() is called. Resolves with why it stopped leading.
   */
  async run(lead: () => void | Promise<void>): Promise<'stopped' | 'lost'> {
    while (!this.stopped && !(await this.attempt(this.requestTimeoutMs))) {
      // Try again after a retry period, or right when the holder's Lease expires if that comes first.
      const untilExpiry = this.expiresAt - this.now() + 10;
      await this.sleep(Math.max(10, Math.min(jittered(this.retryPeriodMs), untilExpiry)));
    }
    if (this.stopped) return 'stopped';
    this.leading = true;
    this.opts.log.info('became the leader', { lease: `${this.opts.namespace}/${this.opts.name}` });
    await lead();
    let lastRenew = this.now();
    while (!this.stopped) {
      // Never sleep or wait for an answer past the renew deadline: the work must stop before the Lease expires.
      const left = () => lastRenew + this.renewDeadlineMs - this.now();
      await this.sleep(Math.max(0, Math.min(this.retryPeriodMs, left())));
      if (this.stopped) break;
      if (left() > 0 && (await this.attempt(Math.min(this.requestTimeoutMs, left())))) {
        lastRenew = this.now();
      } else if (left() <= 0) {
        this.leading = false;
        this.opts.log.error('lost the leader lease: could not renew it in time', {
          lease: `${this.opts.namespace}/${this.opts.name}`,
        });
        return 'lost';
      }
    }
    return 'stopped';
  }

  /** Stop trying; a leader gives the Lease up so that another replica takes over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    if (!this.leading) return;
    this.leading = false;
    try {
      const lease = await this.opts.api.readNamespacedLease({
        name: this.opts.name,
        namespace: this.opts.namespace,
      });
      if (lease.spec?.holderIdentity !== this.opts.identity) return;
      lease.spec = {
        ...lease.spec,
        holderIdentity: '',
        leaseDurationSeconds: 1,
        renewTime: new V1MicroTime(),
      };
      await this.opts.api.replaceNamespacedLease({
        name: this.opts.name,
        namespace: this.opts.namespace,
        body: lease,
      });
    } catch (err) {
      this.opts.log.warn('could not release the leader lease', { error: kubeMessage(err) });
    }
  }

  /**
   * One attempt that gives up after `ms`: a request to an API server that does not answer (a partition) would
   * otherwise hold the leader past its renew deadline, still acting. An answer that comes later is ignored.
   */
  private async attempt(ms: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<false>((resolve) => {
      timer = setTimeout(() => {
        this.opts.log.warn('leader election: no answer from the API server in time', {
          lease: `${this.opts.namespace}/${this.opts.name}`,
          timeoutMs: ms,
        });
        resolve(false);
      }, ms);
    });
    try {
      return await Promise.race([this.tryAcquireOrRenew(), timedOut]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** One attempt to take or renew the Lease; true when we hold it afterwards. */
  async tryAcquireOrRenew(): Promise<boolean> {
    const { api, namespace, name, identity } = this.opts;
    const now = this.now();
    const seconds = Math.ceil(this.leaseDurationMs / 1000);
    try {
      let lease: V1Lease;
      try {
        lease = await api.readNamespacedLease({ name, namespace });
      } catch (err) {
        if (!isNotFound(err)) throw err;
        const at = new V1MicroTime(now);
        await api.createNamespacedLease({
          namespace,
          body: {
            apiVersion: 'coordination.k8s.io/v1',
            kind: 'Lease',
            metadata: { name, namespace },
            spec: {
              holderIdentity: identity,
              leaseDurationSeconds: seconds,
              acquireTime: at,
              renewTime: at,
              leaseTransitions: 0,
            },
          },
        });
        return true;
      }
      const spec = lease.spec ?? {};
      const holder = spec.holderIdentity ?? '';
      const record = JSON.stringify([holder, String(spec.renewTime ?? ''), spec.leaseDurationSeconds]);
      if (this.observed?.record !== record) this.observed = { record, at: now };
      const duration = (spec.leaseDurationSeconds ?? seconds) * 1000;
      if (holder && holder !== identity && this.observed.at + duration > now) {
        this.expiresAt = this.observed.at + duration;
        return false;
      }
      const at = new V1MicroTime(now);
      lease.spec = {
        ...spec,
        holderIdentity: identity,
        leaseDurationSeconds: seconds,
        renewTime: at,
        acquireTime: holder === identity ? (spec.acquireTime ?? at) : at,
        leaseTransitions: (spec.leaseTransitions ?? 0) + (holder === identity ? 0 : 1),
      };
      // The resourceVersion read above makes this fail if another replica wrote in between.
      await api.replaceNamespacedLease({ name, namespace, body: lease });
      return true;
    } catch (err) {
      if (!isConflict(err))
        this.opts.log.warn('leader election: cannot reach the Lease', { error: kubeMessage(err) });
      return false;
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.wake = undefined;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(t);
        this.wake = undefined;
        resolve();
      };
    });
  }
}

/** client-go waits retryPeriod * (1 + up to 1.2) between tries, so candidates do not collide in step. */
const jittered = (ms: number): number => Math.round(ms * (1 + 0.2 * Math.random()));
