// One instant query to Prometheus' HTTP API, bounded in time and in the size of the answer it reads.

export interface Sample {
  value: number;
  /** The series, as Prometheus writes it: demo_errors_ratio{machine="web"}; undefined for a scalar. */
  labels?: string;
}

export interface QueryDeps {
  fetch: typeof fetch;
  signal: AbortSignal;
  timeoutMs: number;
}

/** More than an instant query over a fleet's machines needs; a bigger answer is refused, not read. */
export const MAX_ANSWER_BYTES = 1 << 20;

interface ApiAnswer {
  status?: unknown;
  error?: unknown;
  errorType?: unknown;
  data?: { resultType?: unknown; result?: unknown };
}

/**
 * The samples of `query` now. Throws an Error saying what went wrong (unreachable, timed out, Prometheus' own
 * error, an answer that is not an instant vector or scalar); the messages name Prometheus without its credentials.
 */
export async function queryPrometheus(base: string, query: string, deps: QueryDeps): Promise<Sample[]> {
  const { url, headers, shown } = endpoint(base, query);
  const timeout = AbortSignal.timeout(deps.timeoutMs);
  let text: string | undefined;
  let status: number;
  try {
    const res = await deps.fetch(url, { headers, signal: AbortSignal.any([deps.signal, timeout]) });
    status = res.status;
    text = await readBounded(res);
  } catch (err) {
    if (timeout.aborted) {
      throw new Error(`Prometheus at ${shown} did not answer within ${deps.timeoutMs} ms`, { cause: err });
    }
    if (deps.signal.aborted) throw new Error('cancelled', { cause: err });
    throw new Error(`Prometheus at ${shown} is unreachable: ${reason(err)}`, { cause: err });
  }
  if (text === undefined) {
    throw new Error(`Prometheus at ${shown} answered more than ${MAX_ANSWER_BYTES} bytes; narrow the query`);
  }
  let answer: ApiAnswer;
  try {
    answer = JSON.parse(text) as ApiAnswer;
  } catch {
    throw new Error(`Prometheus at ${shown} answered HTTP ${status} with something that is not JSON`);
  }
  if (answer.status !== 'success') {
    const what = [answer.errorType, answer.error].filter((s) => typeof s === 'string').join(': ');
    throw new Error(`Prometheus at ${shown} answered HTTP ${status}: ${what || 'no error given'}`);
  }
  return samples(answer, shown);
}

function endpoint(
  base: string,
  query: string,
): { url: string; headers: Record<string, string>; shown: string } {
  const u = new URL(base);
  const headers: Record<string, string> = { accept: 'application/json' };
  // fetch refuses a URL with credentials: they go in the header, and never into a message.
  if (u.username !== '' || u.password !== '') {
    const pair = `${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`;
    headers.authorization = `Basic ${Buffer.from(pair).toString('base64')}`;
    u.username = '';
    u.password = '';
  }
  u.search = '';
  u.hash = '';
  const shown = u.toString().replace(/\/$/, '');
  return { url: `${shown}/api/v1/query?query=${encodeURIComponent(query)}`, headers, shown };
}

/** The body, or undefined when it is larger than MAX_ANSWER_BYTES (then read no further). */
async function readBounded(res: Response): Promise<string | undefined> {
  if (res.body === null) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_ANSWER_BYTES) {
      // Not awaited: a cancel settles only once the whole stream is torn down, which the caller need not wait for.
      void reader.cancel().catch(() => undefined);
      return undefined;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function reason(err: unknown): string {
  const cause = (err as { cause?: { code?: unknown; message?: unknown } }).cause;
  if (cause && typeof cause.code === 'string') return cause.code;
  if (cause && typeof cause.message === 'string') return cause.message;
  return (err as Error).message;
}

function samples(answer: ApiAnswer, shown: string): Sample[] {
  const type = answer.data?.resultType;
  const result = answer.data?.result;
  if (type === 'scalar') return [{ value: sampleValue(result, shown) }];
  if (type === 'vector' && Array.isArray(result)) {
    return result.map((r: { metric?: Record<string, string>; value?: unknown }) => ({
      value: sampleValue(r.value, shown),
      labels: series(r.metric ?? {}),
    }));
  }
  if (type === 'matrix') {
    throw new Error('the query returns a range vector; use an instant vector, e.g. max_over_time(...[5m])');
  }
  throw new Error(
    `Prometheus at ${shown} answered a result of type ${JSON.stringify(type)}, not a vector or scalar`,
  );
}

function sampleValue(pair: unknown, shown: string): number {
  if (Array.isArray(pair) && typeof pair[1] === 'string') {
    // Prometheus writes NaN and infinities as "NaN", "+Inf", "-Inf".
    const v = pair[1] === '+Inf' ? Infinity : pair[1] === '-Inf' ? -Infinity : Number(pair[1]);
    if (!Number.isNaN(v) || pair[1] === 'NaN') return v;
  }
  throw new Error(`Prometheus at ${shown} answered a sample that is not [time, "value"]`);
}

function series(metric: Record<string, string>): string {
  const { __name__: name = '', ...labels } = metric;
  const inner = Object.entries(labels)
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(',');
  return `${name}{${inner}}`;
}
