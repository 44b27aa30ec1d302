// What an API server error means for the caller: its HTTP status, a short message, and whether to retry.

/** The HTTP status of an API error; undefined for a connection that failed before any answer. */
export function httpStatus(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

export const isNotFound = (err: unknown): boolean => httpStatus(err) === 404;
export const isConflict = (err: unknown): boolean => httpStatus(err) === 409;

/**
 * A short message: the API server's own (a Status object's `message`) or the connection error. Never the whole
 * exception text, which repeats the response headers and body.
 */
export function kubeMessage(err: unknown): string {
  const status = httpStatus(err);
  if (status === undefined) {
    const e = err as { message?: unknown; code?: unknown };
    const code = typeof e?.code === 'string' ? ` (${e.code})` : '';
    return `${typeof e?.message === 'string' ? e.message.split('\n')[0] : String(err)}${code}`;
  }
  let body = (err as { body?: unknown }).body;
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body) as unknown;
    } catch {
      // not JSON: keep the status alone
    }
  }
  const message = (body as { message?: unknown } | null)?.message;
  return typeof message === 'string' ? `HTTP ${status}: ${message}` : `HTTP ${status}`;
}

/** Failures that go away by themselves: no connection, throttling, server errors, timeouts. */
export function isTransient(err: unknown): boolean {
  const status = httpStatus(err);
  return status === undefined || status === 429 || status >= 500;
}

export interface RetryOptions {
  /** Give up after this long (the last error is thrown). */
  deadlineMs?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

/** Run `fn`, retrying transient failures with exponential backoff until a deadline (an API server restart). */
export async function retryTransient<T>(fn: () => Promise<T>, opts: RetryOptions = {}): Promise<T> {
  const deadline = Date.now() + (opts.deadlineMs ?? 60_000);
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  let delay = opts.baseDelayMs ?? 200;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (!isTransient(err) || Date.now() + delay > deadline) throw err;
      await sleep(delay);
      delay = Math.min(delay * 2, opts.maxDelayMs ?? 5_000);
    }
  }
}
