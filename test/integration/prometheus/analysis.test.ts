// Analysis gates against a real Prometheus scraping the metrics endpoints of real test hosts, each on its own
// loopback address: a healthy wave passes, a wave with one failing machine fails naming its value, and a
// Prometheus that is down fails the gate quickly.
import assert from 'node:assert/strict';
import type { AnalysisGate } from '../../../src/api/analysis.js';
import { systemClock } from '../../../src/core/clock.js';
import { runAnalysis, type AnalysisOutcome } from '../../../src/observe/analysis.js';
import { createTestHost, makeClientKey, type ClientKey, type TestHost } from '../../support/hosts.js';
import { startMetricsEndpoint, type MetricsEndpoint } from '../../support/metrics-endpoint.js';
import { startPrometheus, type PrometheusServer } from '../../support/prometheus.js';
import { eventually } from '../../support/workspace.js';

// "db.1" would also match the outsider "dbx1" if the wave's regex left its dot unescaped.
const WAVE = ['web-1', 'db.1'];

describe('an analysis gate against a real Prometheus', function () {
  this.timeout(300_000);
  let key: ClientKey | undefined;
  const hosts: TestHost[] = [];
  const endpoints: Record<string, MetricsEndpoint> = {};
  let prometheus: PrometheusServer | undefined;

  const gate = (): AnalysisGate => ({
    prometheus: { url: prometheus!.api },
    query: 'max by (machine) (demo_errors_ratio{machine=~"{{machines}}"})',
    successCondition: 'result < 0.1',
    interval: '1s',
    count: 3,
  });
  const analyse = (g: AnalysisGate): Promise<AnalysisOutcome> =>
    runAnalysis(
      g,
      { deployment: 'demo', machines: WAVE },
      { clock: systemClock, signal: new AbortController().signal },
    );
  /** Until Prometheus has scraped `machine` reading `ratio`. */
  const scraped = (machine: string, ratio: string) =>
    eventually(
      `Prometheus to scrape ${machine} at ${ratio}`,
      async () => (await prometheus!.value(`demo_errors_ratio{machine="${machine}"}`)) === ratio,
      60_000,
      250,
    );

  before(async () => {
    key = await makeClientKey();
    for (const machine of WAVE) {
      const host = await createTestHost({ clientPublicKey: key.publicKey });
      hosts.push(host);
      endpoints[machine] = await startMetricsEndpoint({ address: host.address, machine });
    }
    endpoints.dbx1 = await startMetricsEndpoint({
      address: hosts[1]!.address,
      machine: 'dbx1',
      errorsRatio: 0.9,
    });
    prometheus = await startPrometheus({
      jobs: [{ job: 'demo', targets: Object.values(endpoints).map((e) => e.target) }],
    });
    for (const machine of [...WAVE, 'dbx1']) await scraped(machine, machine === 'dbx1' ? '0.9' : '0');
  });
  after(async () => {
    await prometheus?.stop();
    for (const e of Object.values(endpoints)) await e.stop();
    for (const h of hosts) await h.destroy();
    await key?.cleanup();
  });

  it('passes after count measurements when every machine of the wave reads 0, whatever other machines read', async () => {
    // GIVEN every machine of the wave at ratio 0, and one outside the wave at 0.9
    // WHEN the gate runs THEN 3 measurements, a second apart, each saw only the wave's two machines
    const started = Date.now();
    const out = await analyse(gate());
    assert.equal(out.verdict, 'passed', out.message);
    assert.deepEqual(
      out.measurements.map((m) => [m.ok, m.values]),
      [
        [true, [0, 0]],
        [true, [0, 0]],
        [true, [0, 0]],
      ],
    );
    assert.ok(Date.now() - started >= 2000, 'the measurements were an interval apart');
    assert.match(out.message, /^analysis passed: 3 of 3 measurements met the condition/);
  });

  it('fails at the first measurement once one machine reads 0.5, saying which value failed the condition', async () => {
    // GIVEN web-1 at ratio 0.5
    endpoints['web-1']!.set(0.5);
    await scraped('web-1', '0.5');
    // WHEN the gate runs THEN it fails without waiting for the other measurements
    const out = await analyse(gate());
    assert.equal(out.verdict, 'failed');
    assert.equal(out.measurements.length, 1);
    assert.match(
      out.message,
      /^analysis failed: 1 of 1 measurements failed, more than the failureLimit of 0 \(query "max by \(machine\) \(demo_errors_ratio\{machine=~\\"web-1\|db\\\\\\\\.1\\"\}\)", condition "result < 0.1"\): result < 0.1 is false for the value 0.5 of \{machine="web-1"\}$/,
    );
    endpoints['web-1']!.set(0);
  });

  it('fails within seconds, saying Prometheus is unreachable, once Prometheus is down', async () => {
    // GIVEN the gate's Prometheus stopped
    const g = { ...gate(), failureLimit: 1 };
    await prometheus!.stop();
    // WHEN the gate runs THEN two failed measurements exceed the failureLimit of 1, a second apart
    const started = Date.now();
    const out = await analyse(g);
    assert.equal(out.verdict, 'failed');
    assert.equal(out.measurements.length, 2);
    assert.ok(Date.now() - started < 10_000, `took ${Date.now() - started} ms`);
    assert.match(
      out.message,
      new RegExp(`: Prometheus at ${g.prometheus.url} is unreachable: ECONNREFUSED$`),
    );
  });
});
