// The fleet page's routes on the metrics server, and where the page may be served.
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { FleetBoard } from '../../../src/fleet/board.js';
import { checkFleetListen, fleetRoutes, isLoopback } from '../../../src/fleet/http.js';
import { serveMetrics, type MetricsServer } from '../../../src/metrics/server.js';

const health = { live: () => true, ready: () => true };

describe('where the fleet page may be served', () => {
  for (const [host, loopback] of [
    ['127.0.0.1', true],
    ['127.3.4.5', true],
    ['localhost', true],
    ['::1', true],
    ['0.0.0.0', false],
    ['::', false],
    ['10.0.0.7', false],
    ['pod.example.org', false],
  ] as const)
    it(`${loopback ? 'accepts' : 'refuses'} ${host}`, () => assert.equal(isLoopback(host), loopback));

  it('refuses a non-loopback --listen, naming it and the flag that allows it', () => {
    assert.throws(
      () => checkFleetListen('0.0.0.0:9402', false),
      /--listen 0\.0\.0\.0:9402 is not a loopback address.*--fleet-page-public/,
    );
    assert.doesNotThrow(() => checkFleetListen('0.0.0.0:9402', true));
    assert.doesNotThrow(() => checkFleetListen('127.0.0.1:9402', false));
  });
});

describe('the fleet page on the metrics server', () => {
  let withPage: MetricsServer;
  let without: MetricsServer;
  const board = new FleetBoard();
  const url = (s: MetricsServer, path: string) => `http://127.0.0.1:${s.port}${path}`;

  before(async () => {
    withPage = await serveMetrics(
      '127.0.0.1:0',
      new Registry(),
      health,
      fleetRoutes(() => board.view()),
    );
    without = await serveMetrics('127.0.0.1:0', new Registry(), health);
  });
  after(async () => {
    await withPage.close();
    await without.close();
  });

  it('serves the page, its script and style with a strict Content-Security-Policy and no inline code', async () => {
    for (const path of ['/', '/fleet.js', '/fleet.css']) {
      const res = await fetch(url(withPage, path));
      assert.equal(res.status, 200, path);
      assert.match(res.headers.get('content-security-policy') ?? '', /default-src 'none'/);
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    }
    const html = await (await fetch(url(withPage, '/'))).text();
    assert.doesNotMatch(html, /<script>|\son\w+=|style=/);
  });

  it('serves /fleet.json, and still the probes and metrics', async () => {
    const res = await fetch(url(withPage, '/fleet.json'));
    assert.equal(res.headers.get('content-type'), 'application/json');
    const view = (await res.json()) as { version: number; deployments: unknown[] };
    assert.deepEqual([view.version, view.deployments], [1, []]);
    assert.equal((await fetch(url(withPage, '/readyz'))).status, 200);
    assert.equal((await fetch(url(withPage, '/metrics'))).status, 200);
  });

  it('is read-only', async () => {
    assert.equal((await fetch(url(withPage, '/fleet.json'), { method: 'POST' })).status, 405);
  });

  it('is not there unless it is turned on', async () => {
    assert.equal((await fetch(url(without, '/'))).status, 404);
    assert.equal((await fetch(url(without, '/fleet.json'))).status, 404);
  });
});
