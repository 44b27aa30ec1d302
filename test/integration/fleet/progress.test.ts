// The fleet page's script in a real headless Chromium, drawing the progress of a reconcile as it arrives: the
// stage, wave and bytes copied of each machine, updated live without a reload. The events come from the same sink a
// reconcile reports to, on the metrics server the controllers serve the page from.
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { Reason } from '../../../src/api/conditions.js';
import type { ProgressEvent } from '../../../src/core/progress.js';
import type { ReconcileRequest } from '../../../src/core/request.js';
import { FleetBoard } from '../../../src/fleet/board.js';
import { fleetRoutes } from '../../../src/fleet/http.js';
import { serveMetrics, type MetricsServer } from '../../../src/metrics/server.js';
import type { ReconcileReport } from '../../../src/report/report.js';
import { startBrowser, type Browser, type BrowserPage } from '../../support/browser.js';
import { eventually } from '../../support/workspace.js';

const ROW = (machine: string) => `(() => {
  const r = [...document.querySelectorAll('tr.machine')].find((x) => x.dataset.machine === ${JSON.stringify(machine)});
  if (!r) return undefined;
  const bar = r.querySelector('progress');
  return { state: r.dataset.state, text: r.textContent, bar: bar ? [bar.value, bar.max] : null };
})()`;

describe('the fleet page drawing a reconcile in progress, in a real headless Chromium', function () {
  this.timeout(120_000);
  let server: MetricsServer | undefined;
  let browser: Browser | undefined;
  let page: BrowserPage;
  const board = new FleetBoard();
  let emit: (e: ProgressEvent) => void = () => {};
  let finish: (r: ReconcileReport) => void = () => {};
  let running: Promise<ReconcileReport> | undefined;
  const at = () => new Date().toISOString();

  before(async () => {
    server = await serveMetrics(
      '127.0.0.1:0',
      new Registry(),
      { live: () => true, ready: () => true },
      fleetRoutes(() => board.view()),
    );
    browser = await startBrowser();
    page = await browser.newPage();
    // A reconcile that reports what the test tells it to, and ends when the test says so.
    const reconcile = board.track(async (req: ReconcileRequest) => {
      emit = (e) => req.progress?.(e);
      return new Promise<ReconcileReport>((resolve) => (finish = resolve));
    });
    running = reconcile({ name: 'web' } as unknown as ReconcileRequest);
    await page.navigate(`http://127.0.0.1:${server.port}/`);
  });
  after(async () => {
    await browser?.stop();
    await server?.close();
  });

  it('shows each machine rolling out with its stage, wave and bytes copied, as the events arrive', async () => {
    emit({
      type: 'wave',
      deployment: 'web',
      wave: 1,
      waves: 2,
      machines: ['web1'],
      state: 'started',
      at: at(),
    });
    emit({
      type: 'machine',
      deployment: 'web',
      machine: 'web1',
      stage: 'copying',
      wave: 1,
      copied: { bytes: 1024 * 1024, total: 4 * 1024 * 1024 },
      at: at(),
    });
    const copying = await eventually('web1 copying on the page', async () => {
      const row = await page.evaluate<{ state: string; text: string; bar: number[] | null } | undefined>(
        ROW('web1'),
      );
      return row?.state === 'rolling-out' ? row : undefined;
    });
    assert.match(copying.text, /copying 1\.0 MiB of 4\.0 MiB, wave 1/);
    assert.deepEqual(copying.bar, [1024 * 1024, 4 * 1024 * 1024]);
    assert.match(await page.evaluate<string>('document.body.textContent'), /wave 1 of 2: started/);

    // WHEN the machine moves on, THEN the page follows without a reload
    emit({ type: 'machine', deployment: 'web', machine: 'web1', stage: 'activating', wave: 1, at: at() });
    await eventually('web1 activating on the page', async () =>
      /activating/.test((await page.evaluate<{ text: string } | undefined>(ROW('web1')))?.text ?? ''),
    );
  });

  it('shows the outcome once the reconcile has ended', async () => {
    finish({
      deployment: 'web',
      op: 'deploy',
      ok: true,
      reason: Reason.ReconciliationSucceeded,
      message: '1 machines reconciled, 1 activated',
      plan: { machines: [], actions: [] },
      machines: {
        web1: { machine: 'web1', env: 'local', verdict: 'update', outcome: 'activated', generation: 2 },
      },
      startedAt: at(),
      durationMs: 10,
    });
    await running;
    const row = await eventually('web1 ready on the page', async () => {
      const r = await page.evaluate<{ state: string; bar: unknown } | undefined>(ROW('web1'));
      return r?.state === 'ready' ? r : undefined;
    });
    assert.equal(row.bar, null);
  });
});
