// The error type that carries a condition reason, and how a controller reacts to a failure.
import { Reason } from '../api/conditions.js';

/**
 * How a controller reacts to a failure. `stall`: retrying alone cannot fix it (a syntax error, a missing Secret
 * key, a host that refuses to be made), so nothing is retried until the spec, a Secret or a network file changes.
 * `wait`: someone else is at work (another writer holds the state); come back after the retry interval without
 * counting it as a failure. `retry`: it may pass by itself; retry with exponential backoff.
 */
export type Reaction = 'stall' | 'wait' | 'retry';
const REACTIONS: readonly Reaction[] = ['stall', 'wait', 'retry'];

/** An error that knows the condition reason it sets and whether retrying can help. */
export class ReconixError extends Error {
  readonly reason: Reason;
  readonly reaction: Reaction;
  constructor(reason: Reason, message: string, options: { cause?: unknown; reaction?: Reaction } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ReconixError';
    this.reason = reason;
    this.reaction = options.reaction ?? 'retry';
  }
}

/** A failure as reports, status and controllers carry it: what went wrong, and what to do about it. */
export interface Failure {
  reason: Reason;
  message: string;
  reaction: Reaction;
}

/** The failure an error stands for; anything that does not say otherwise is worth a retry. */
export function failureOf(err: unknown, fallback: Reason = Reason.ProvisioningFailed): Failure {
  const e = (typeof err === 'object' && err !== null ? err : {}) as { reason?: unknown; reaction?: unknown };
  const reaction = REACTIONS.find((r) => r === e.reaction) ?? 'retry';
  return {
    reason: typeof e.reason === 'string' ? (e.reason as Reason) : fallback,
    message: err instanceof Error ? err.message : String(err),
    reaction,
  };
}

// The more hopeful reaction wins: a retry may fix some of the failures, so the whole only stalls when every
// failure does.
const HOPE: Record<Reaction, number> = { retry: 2, wait: 1, stall: 0 };

/** The reaction to several failures at once (machines failing in different ways); none at all: retry. */
export function combinedReaction(reactions: readonly Reaction[]): Reaction {
  if (reactions.length === 0) return 'retry';
  return reactions.reduce<Reaction>((a, b) => (HOPE[b] > HOPE[a] ? b : a), 'stall');
}
