// Durations as the spec writes them: "5m", "1h30m", "10s", "500ms".

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const WHOLE = /^(?:[0-9]+(?:ms|s|m|h))+$/;
const PART = /([0-9]+)(ms|s|m|h)/g;

/** The longest delay a Node timer keeps: setTimeout fires a longer one at once (about 24.8 days). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** Milliseconds of a duration such as "1h30m"; throws on anything else, and on anything a timer cannot wait. */
export function parseDuration(text: string): number {
  if (!WHOLE.test(text)) {
    throw new Error(`invalid duration ${JSON.stringify(text)}: expected e.g. 5m, 1h30m, 10s or 500ms`);
  }
  let total = 0;
  for (const [, amount, unit] of text.matchAll(PART)) {
    total += Number(amount) * (UNIT_MS[unit ?? ''] ?? 0);
  }
  if (!(total <= MAX_TIMER_MS)) {
    throw new Error(
      `duration ${JSON.stringify(text.slice(0, 40))} is too long: at most ${MAX_TIMER_MS} ms (24d)`,
    );
  }
  return total;
}

export interface DurationBounds {
  minMs: number;
  maxMs: number;
}

/** Bounds of the spec's durations, which reach the controllers' timers. */
export const SPEC_DURATIONS: Readonly<
  Record<'interval' | 'retryInterval' | 'confirmTimeout' | 'activationTimeout', DurationBounds>
> = {
  // A resync more often than every second is a busy loop over nix-instantiate and every host.
  interval: { minMs: 1000, maxMs: 24 * 3_600_000 },
  // The first retry after a failure; it doubles on each failure up to the interval.
  retryInterval: { minMs: 50, maxMs: 24 * 3_600_000 },
  // A new SSH connection and one command must fit in the confirmation wait.
  confirmTimeout: { minMs: 1000, maxMs: 3_600_000 },
  activationTimeout: { minMs: 1000, maxMs: 24 * 3_600_000 },
};

/** Why `text` is not a duration within `bounds` (named `field` in the message), or undefined when it is. */
export function durationProblem(field: string, text: string, bounds: DurationBounds): string | undefined {
  let ms: number;
  try {
    ms = parseDuration(text);
  } catch (err) {
    return `${field}: ${(err as Error).message}`;
  }
  if (ms < bounds.minMs || ms > bounds.maxMs) {
    return `${field}: ${JSON.stringify(text)} is out of range: between ${formatMs(bounds.minMs)} and ${formatMs(bounds.maxMs)}`;
  }
  return undefined;
}

function formatMs(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}
