import assert from 'node:assert/strict';
import type { AnalysisGate } from '../../../src/api/analysis.js';
import type { Clock } from '../../../src/core/ports.js';
import { renderQuery, runAnalysis } from '../../../src/observe/analysis.js';

/** A clock whose sleeps return at once, recording how long they were asked to wait. */
function fakeClock(): Clock & { slept: number[] } {
  let now = Date.parse('2026-01-01T00:00:00Z');
  const slept: number[] = [];
  return {
    slept,
    now: () => new Date(now),
    sleep: async (ms) => {
      slept.push(ms);
      now += ms;
    },
  };
}

type Answer = Response | Error | ((url: string) => Response);

/** A fetch answering from a script, one entry a call (the last one repeats), recording the URLs asked. */
function fakeFetch(...answers: Answer[]): typeof fetch & { urls: string[]; headers: Headers[] } {
  const urls: string[] = [];
  const headers: Headers[] = [];
  const f = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    urls.push(String(input));
    headers.push(new Headers(init?.headers));
    const a = answers[Math.min(urls.length - 1, answers.length - 1)]!;
    if (a instanceof Error) throw a;
    return typeof a === 'function' ? a(String(input)) : a.clone();
  };
  return Object.assign(f, { urls, headers }) as typeof fetch & { urls: string[]; headers: Headers[] };
}

const vector = (...values: [string, string][]): Response =>
  Response.json({
    status: 'success',
    data: {
      resultType: 'vector',
      result: values.map(([machine, v]) => ({
        metric: { __name__: 'demo_errors_ratio', machine },
        value: [1700000000, v],
      })),
    },
  });

const gate = (more: Partial<AnalysisGate> = {}): AnalysisGate => ({
  prometheus: { url: 'http://prom.test:9090' },
  query: 'demo_errors_ratio{machine=~"{{machines}}"}',
  successCondition: 'result < 0.1',
  ...more,
});
const vars = { deployment: 'web', machines: ['a', 'b'] };
const live = () => new AbortController().signal;

describe('running an analysis gate', () => {
  it('passes after count measurements that all meet the condition, interval apart', async () => {
    const clock = fakeClock();
    const f = fakeFetch(vector(['a', '0'], ['b', '0.05']));
    const out = await runAnalysis(gate({ interval: '2s' }), vars, { clock, signal: live(), fetch: f });
    assert.equal(out.verdict, 'passed');
    assert.equal(out.measurements.length, 3);
    assert.deepEqual(out.measurements[0], { at: '2026-01-01T00:00:00.000Z', values: [0, 0.05], ok: true });
    assert.deepEqual(clock.slept, [2000, 2000]);
    assert.equal(
      f.urls[0],
      `http://prom.test:9090/api/v1/query?query=${encodeURIComponent('demo_errors_ratio{machine=~"a|b"}')}`,
    );
    assert.match(out.message, /^analysis passed: 3 of 3 measurements met the condition \(query /);
  });

  it('takes 3 measurements 10 s apart by default', async () => {
    const clock = fakeClock();
    const out = await runAnalysis(gate(), vars, {
      clock,
      signal: live(),
      fetch: fakeFetch(vector(['a', '0'])),
    });
    assert.equal(out.measurements.length, 3);
    assert.deepEqual(clock.slept, [10_000, 10_000]);
  });

  it('fails as soon as one machine fails the condition, naming the value, its series, the query and condition', async () => {
    const f = fakeFetch(vector(['a', '0'], ['b', '0.5']));
    const out = await runAnalysis(gate({ count: 5 }), vars, { clock: fakeClock(), signal: live(), fetch: f });
    assert.equal(out.verdict, 'failed');
    assert.equal(out.measurements.length, 1);
    assert.equal(
      out.message,
      'analysis failed: 1 of 1 measurements failed, more than the failureLimit of 0 (query "demo_errors_ratio{machine=~\\"a|b\\"}", condition "result < 0.1"): result < 0.1 is false for the value 0.5 of demo_errors_ratio{machine="b"}',
    );
  });

  it('tolerates failureLimit failed measurements, and fails on the one after', async () => {
    const ok = vector(['a', '0']);
    const bad = vector(['a', '1']);
    const tolerated = await runAnalysis(gate({ count: 4, failureLimit: 1 }), vars, {
      clock: fakeClock(),
      signal: live(),
      fetch: fakeFetch(ok, bad, ok),
    });
    assert.equal(tolerated.verdict, 'passed');
    assert.deepEqual(
      tolerated.measurements.map((m) => m.ok),
      [true, false, true, true],
    );
    assert.match(
      tolerated.message,
      /3 of 4 measurements met the condition, 1 failed within the failureLimit of 1/,
    );

    const failed = await runAnalysis(gate({ count: 4, failureLimit: 1 }), vars, {
      clock: fakeClock(),
      signal: live(),
      fetch: fakeFetch(bad, ok, bad),
    });
    assert.equal(failed.verdict, 'failed');
    assert.equal(failed.measurements.length, 3);
    assert.match(
      failed.message,
      /^analysis failed: 2 of 3 measurements failed, more than the failureLimit of 1/,
    );
  });

  it('counts an empty result as a failed measurement', async () => {
    const out = await runAnalysis(gate(), vars, {
      clock: fakeClock(),
      signal: live(),
      fetch: fakeFetch(vector()),
    });
    assert.equal(out.verdict, 'failed');
    assert.deepEqual(out.measurements[0], {
      at: '2026-01-01T00:00:00.000Z',
      values: [],
      ok: false,
      error: 'query returned no samples',
    });
    assert.match(out.message, /: query returned no samples$/);
  });

  it("fails on Prometheus' own error, with its type and text", async () => {
    const err = Response.json(
      { status: 'error', errorType: 'bad_data', error: 'parse error at char 5' },
      { status: 400 },
    );
    const out = await runAnalysis(gate(), vars, {
      clock: fakeClock(),
      signal: live(),
      fetch: fakeFetch(err),
    });
    assert.match(
      out.message,
      /: Prometheus at http:\/\/prom\.test:9090 answered HTTP 400: bad_data: parse error at char 5$/,
    );
  });

  it('fails when Prometheus is unreachable, naming the cause', async () => {
    const refused = Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } });
    const out = await runAnalysis(gate(), vars, {
      clock: fakeClock(),
      signal: live(),
      fetch: fakeFetch(refused),
    });
    assert.equal(out.verdict, 'failed');
    assert.match(out.message, /: Prometheus at http:\/\/prom\.test:9090 is unreachable: ECONNREFUSED$/);
  });

  it('fails a query that does not answer within the request timeout', async () => {
    const hang: typeof fetch = (_u, init) =>
      new Promise((_, reject) => init?.signal?.addEventListener('abort', () => reject(init.signal!.reason)));
    const out = await runAnalysis(gate(), vars, {
      clock: fakeClock(),
      signal: live(),
      fetch: hang,
      requestTimeoutMs: 50,
    });
    assert.match(out.message, /: Prometheus at http:\/\/prom\.test:9090 did not answer within 50 ms$/);
  });

  it('refuses an answer larger than 1 MiB without reading it all', async () => {
    let pulled = 0;
    const endless = () =>
      new Response(
        new ReadableStream<Uint8Array>({
          pull(c) {
            pulled += 65536;
            c.enqueue(new Uint8Array(65536).fill(32));
          },
        }),
      );
    const out = await runAnalysis(gate(), vars, {
      clock: fakeClock(),
      signal: live(),
      fetch: fakeFetch(endless),
    });
    assert.ok(pulled < 2 << 20, `read ${pulled} bytes`);
    assert.match(out.message, /answered more than 1048576 bytes; narrow the query$/);
  });

  it('reads a scalar as one sample and refuses a range vector', async () => {
    const scalar = Response.json({ status: 'success', data: { resultType: 'scalar', result: [1, '0.01'] } });
    const passed = await runAnalysis(gate({ count: 1 }), vars, {
      clock: fakeClock(),
      signal: live(),
      fetch: fakeFetch(scalar),
    });
    assert.deepEqual(passed.measurements[0]?.values, [0.01]);
    assert.equal(passed.verdict, 'passed');
    const matrix = Response.json({ status: 'success', data: { resultType: 'matrix', result: [] } });
    const failed = await runAnalysis(gate(), vars, {
      clock: fakeClock(),
      signal: live(),
      fetch: fakeFetch(matrix),
    });
    assert.match(failed.message, /the query returns a range vector; use an instant vector/);
  });

  it('sends the credentials of the URL as a header and never shows them', async () => {
    const f = fakeFetch(vector());
    const out = await runAnalysis(gate({ prometheus: { url: 'https://bob:s3cret@prom.test/prom/' } }), vars, {
      clock: fakeClock(),
      signal: live(),
      fetch: f,
    });
    assert.match(f.urls[0]!, /^https:\/\/prom\.test\/prom\/api\/v1\/query\?query=/);
    assert.equal(f.headers[0]!.get('authorization'), `Basic ${Buffer.from('bob:s3cret').toString('base64')}`);
    assert.doesNotMatch(JSON.stringify(out), /s3cret/);
  });

  it('stops between measurements once the signal is aborted: cancelled', async () => {
    const abort = new AbortController();
    const clock = fakeClock();
    const sleep = clock.sleep;
    clock.sleep = async (ms) => {
      abort.abort();
      await sleep(ms);
    };
    const f = fakeFetch(vector(['a', '0']));
    const out = await runAnalysis(gate({ count: 5 }), vars, { clock, signal: abort.signal, fetch: f });
    assert.equal(out.verdict, 'cancelled');
    assert.equal(out.measurements.length, 1);
    assert.equal(f.urls.length, 1);
    assert.match(out.message, /^analysis cancelled after 1 of 5 measurements/);
  });

  it('is cancelled at once when the signal is aborted during the interval, not at its end', async () => {
    const abort = new AbortController();
    let asleep!: () => void;
    const sleeping = new Promise<void>((r) => (asleep = r));
    // A sleep that would never end on its own.
    const clock: Clock = {
      now: () => new Date(0),
      sleep: () => {
        asleep();
        return new Promise(() => undefined);
      },
    };
    const running = runAnalysis(gate({ interval: '1h' }), vars, {
      clock,
      signal: abort.signal,
      fetch: fakeFetch(vector(['a', '0'])),
    });
    await sleeping;
    abort.abort();
    const out = await running;
    assert.equal(out.verdict, 'cancelled');
    assert.equal(out.measurements.length, 1);
  });

  it('fails a gate whose condition does not parse, without querying', async () => {
    const f = fakeFetch(vector(['a', '0']));
    const out = await runAnalysis(gate({ successCondition: 'result <' }), vars, {
      clock: fakeClock(),
      signal: live(),
      fetch: f,
    });
    assert.equal(out.verdict, 'failed');
    assert.match(out.message, /^analysis gate is invalid: invalid successCondition "result <" at column 9/);
    assert.equal(f.urls.length, 0);
  });
});

describe("an analysis gate's query", () => {
  it('matches exactly the wave machines, their regex characters escaped inside a PromQL string', () => {
    assert.equal(
      renderQuery('up{machine=~"{{machines}}", deployment="{{deployment}}"}', {
        deployment: 'prod',
        machines: ['web-1', 'db.2', 'a+b'],
      }),
      'up{machine=~"web-1|db\\\\.2|a\\\\+b", deployment="prod"}',
    );
  });
});
