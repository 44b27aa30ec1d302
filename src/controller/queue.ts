// A work queue of deployment keys: de-duplicated, per-key exponential backoff, capped concurrency,
// delayed re-queues. A key being processed that is added again runs once more afterwards, never twice at once.
import { MAX_TIMER_MS } from '../util/duration.js';

export interface WorkQueueOptions {
  concurrency: number;
  /** First retry delay after a failure; doubles per consecutive failure. */
  baseDelayMs: number;
  maxDelayMs: number;
  onDepth?: (depth: number) => void;
}

export class WorkQueue {
  private readonly pending: string[] = [];
  private readonly queued = new Set<string>();
  private readonly active = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private readonly failures = new Map<string, number>();
  private stopped = false;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly handler: (key: string) => Promise<void>,
    private readonly opts: WorkQueueOptions,
  ) {}

  add(key: string): void {
    if (this.stopped) return;
    const t = this.timers.get(key);
    if (t) {
      clearTimeout(t.timer);
      this.timers.delete(key);
    }
    if (this.active.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.queued.add(key);
    this.pending.push(key);
    this.opts.onDepth?.(this.pending.length);
    this.pump();
  }

  /**
   * Add `key` after `ms`; an earlier scheduled add wins over a later one. A delay longer than a timer can wait is
   * cut to that (Node would fire it at once); one that is not a number waits the longest.
   */
  addAfter(key: string, requestedMs: number): void {
    if (this.stopped) return;
    const ms = Number.isNaN(requestedMs) ? MAX_TIMER_MS : Math.min(requestedMs, MAX_TIMER_MS);
    if (ms <= 0) return this.add(key);
    const at = Date.now() + ms;
    const existing = this.timers.get(key);
    if (existing && existing.at <= at) return;
    if (existing) clearTimeout(existing.timer);
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, ms);
    timer.unref();
    this.timers.set(key, { at, timer });
  }

  /** Re-queue after a failure with exponential backoff; returns the delay chosen. */
  addRateLimited(
    key: string,
    baseDelayMs = this.opts.baseDelayMs,
    maxDelayMs = this.opts.maxDelayMs,
  ): number {
    const n = (this.failures.get(key) ?? 0) + 1;
    this.failures.set(key, n);
    // A base of zero (or less) would retry a failing key in a busy loop: the queue's own base applies instead.
    const base = baseDelayMs > 0 ? baseDelayMs : this.opts.baseDelayMs > 0 ? this.opts.baseDelayMs : 1000;
    const delay = Math.min(base * 2 ** Math.min(n - 1, 52), Math.max(maxDelayMs, base), MAX_TIMER_MS);
    this.addAfter(key, delay);
    return delay;
  }

  /** Clear a key's failure count (after a success). */
  forget(key: string): void {
    this.failures.delete(key);
  }

  failuresOf(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  /** Drop a key entirely: no pending run, no timer. */
  remove(key: string): void {
    const t = this.timers.get(key);
    if (t) clearTimeout(t.timer);
    this.timers.delete(key);
    this.failures.delete(key);
    this.dirty.delete(key);
    if (this.queued.delete(key)) this.pending.splice(this.pending.indexOf(key), 1);
  }

  get depth(): number {
    return this.pending.length;
  }

  /** Resolves when nothing is queued or running (timers aside). */
  idle(): Promise<void> {
    if (this.pending.length === 0 && this.active.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  shutdown(): void {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t.timer);
    this.timers.clear();
    this.pending.length = 0;
    this.queued.clear();
  }

  private pump(): void {
    while (this.active.size < this.opts.concurrency && this.pending.length > 0) {
      const key = this.pending.shift()!;
      this.queued.delete(key);
      this.opts.onDepth?.(this.pending.length);
      this.active.add(key);
      void this.handler(key)
        .catch(() => undefined)
        .finally(() => {
          this.active.delete(key);
          if (this.dirty.delete(key)) this.add(key);
          this.pump();
          if (this.pending.length === 0 && this.active.size === 0) {
            const waiters = this.idleWaiters;
            this.idleWaiters = [];
            for (const w of waiters) w();
          }
        });
    }
  }
}

/** `ms` stretched by up to `fraction` at random, so that many deployments do not resync in lockstep. */
export function withJitter(ms: number, fraction = 0.1, random: () => number = Math.random): number {
  return Math.round(ms * (1 + fraction * random()));
}
