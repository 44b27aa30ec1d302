// What /readyz and /healthz of the directory controller mean: ready once every deployment found by the first
// load has been reconciled once (or its load failed); live while no reconcile has been running for too long.

/** A reconcile running longer than this makes the controller unhealthy (activations have no deadline). */
export const DEFAULT_STUCK_AFTER_MS = 60 * 60_000;

export interface Probe {
  ok: boolean;
  /** Why not, for the probe's response body and the log. */
  detail: string;
}

export class DirectoryHealth {
  /** Deployments of the first load not yet reconciled once; undefined until the first load is done. */
  private firstRound: Set<string> | undefined;
  private ready = false;
  /** Done before the first load was counted (a reconcile can end first); only kept until ready. */
  private readonly doneEarly = new Set<string>();
  private readonly running = new Map<string, number>();
  /** The source holds no manifest: why the controller is not ready, until one appears. */
  private empty: string | undefined;

  constructor(
    private readonly stuckAfterMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  firstLoadDone(names: Iterable<string>): void {
    if (this.firstRound || this.ready) return;
    this.firstRound = new Set([...names].filter((n) => !this.doneEarly.has(n)));
    this.doneEarly.clear();
    this.settle();
  }

  /** A deployment of the first round that is done: reconciled, failed to load, or gone from the source. */
  done(name: string): void {
    if (this.ready) return;
    if (this.firstRound) this.firstRound.delete(name);
    else this.doneEarly.add(name);
    this.settle();
  }

  started(name: string): void {
    this.running.set(name, this.now());
  }

  finished(name: string): void {
    this.running.delete(name);
    this.done(name);
  }

  /** The last load found no manifest (the message), or found some (undefined). */
  sourceEmpty(message: string | undefined): void {
    this.empty = message;
  }

  readiness(): Probe {
    if (this.empty) return { ok: false, detail: this.empty };
    if (this.ready) return { ok: true, detail: 'ok' };
    if (!this.firstRound) return { ok: false, detail: 'the source directory has not been loaded yet' };
    return {
      ok: false,
      detail: `waiting for the first reconcile of ${[...this.firstRound].sort().join(', ')}`,
    };
  }

  liveness(): Probe {
    const now = this.now();
    const stuck = [...this.running]
      .filter(([, since]) => now - since > this.stuckAfterMs)
      .map(([name, since]) => `${name} (${Math.round((now - since) / 1000)} s)`);
    if (stuck.length === 0) return { ok: true, detail: 'ok' };
    return {
      ok: false,
      detail: `reconcile running longer than ${Math.round(this.stuckAfterMs / 1000)} s: ${stuck.join(', ')}`,
    };
  }

  private settle(): void {
    if (this.firstRound && this.firstRound.size === 0) {
      this.ready = true;
      this.firstRound = undefined;
    }
  }
}
