// The fleet page of a real `reconix controller --dir --fleet-page` process managing a real local host, read by a
// real headless Chromium: ready, drifted after an out-of-band switch, failed on a broken network file, and a
// machine whose name is HTML shown as text.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { reconix } from '../../support/cli.js';
import { startBrowser, type Browser, type BrowserPage } from '../../support/browser.js';
import { REPO_ROOT, eventually, type Workspace } from '../../support/workspace.js';
import { freePort } from '../../support/prometheus.js';
import {
  controlTrivial,
  quickManifest,
  secondGeneration,
  type ControllerProcess,
} from '../prometheus/processes.js';

const DEPLOYMENT = 'trivial-local';
const HOSTILE = 'hostile';
const HOSTILE_MACHINE = '<img src=x onerror="window.__injected=1">';

interface Shown {
  name: string;
  state: string;
  text: string;
  machines: { name: string; state: string; text: string }[];
}

/** What the page shows, read from its DOM: names and states as the user sees them. */
const SHOWN = `[...document.querySelectorAll('section.deployment')].map((s) => ({
  name: s.querySelector('h2 .name').textContent,
  state: s.dataset.state,
  text: s.textContent,
  machines: [...s.querySelectorAll('tr.machine')].map((r) => ({
    name: r.querySelector('.name').textContent,
    state: r.dataset.state,
    text: r.textContent,
  })),
}))`;

describe('the fleet page of a real controller, in a real headless Chromium', function () {
  this.timeout(300_000);
  let ws: Workspace;
  let controller: ControllerProcess | undefined;
  let browser: Browser | undefined;
  let page: BrowserPage;
  let network: string;

  const shown = () => page.evaluate<Shown[]>(SHOWN);
  const deployment = async (name: string) => (await shown()).find((d) => d.name === name);
  const machineState = async (name: string, machine: string) =>
    (await deployment(name))?.machines.find((m) => m.name === machine)?.state;

  before(async () => {
    ({ ws, controller, network } = await controlTrivial(DEPLOYMENT, ['--fleet-page']));
    browser = await startBrowser();
    page = await browser.newPage();
    await page.navigate(`${controller.base}/`);
  });
  after(async () => {
    await browser?.stop();
    await controller?.stop();
    await ws?.dispose();
  });

  it('shows the deployment and its machine as ready once the controller has deployed it', async () => {
    await eventually(
      'the page to show the deployment ready',
      async () => (await deployment(DEPLOYMENT))?.state === 'ready',
      120_000,
      250,
    );
    const d = (await deployment(DEPLOYMENT))!;
    assert.deepEqual(
      d.machines.map((m) => [m.name, m.state]),
      [['machine', 'ready']],
    );
    assert.match(d.text, /last reconcile/);
  });

  it('is refused on an address other machines can reach, unless asked for by name', async () => {
    const refused = await reconix([
      '--state-dir',
      ws.stateDir,
      'controller',
      '--dir',
      ws.dir,
      '--fleet-page',
      '--listen',
      '0.0.0.0:0',
    ]);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /--listen 0\.0\.0\.0:0 is not a loopback address.*--fleet-page-public/);
  });

  it('serves the same data as /fleet.json, with a strict Content-Security-Policy on the page', async () => {
    const json = await fetch(`${controller!.base}/fleet.json`);
    const view = (await json.json()) as {
      version: number;
      deployments: { name: string; state: string; machines: { system?: string; generation?: number }[] }[];
    };
    assert.equal(view.version, 1);
    const d = view.deployments.find((x) => x.name === DEPLOYMENT);
    assert.equal(d?.state, 'ready');
    assert.match(d?.machines[0]?.system ?? '', /^\/nix\/store\//);
    assert.equal(d?.machines[0]?.generation, 1);
    const html = await fetch(`${controller!.base}/`);
    assert.match(html.headers.get('content-security-policy') ?? '', /default-src 'none'; script-src 'self'/);
  });

  it('shows a machine switched out of band as drifted within seconds of the next check', async () => {
    // GIVEN a second generation deployed by the controller
    await secondGeneration(ws, network);
    await eventually(
      'the page to show it ready again',
      async () => (await deployment(DEPLOYMENT))?.state === 'ready',
      30_000,
      250,
    );

    // WHEN someone switches the host back to generation 1 by hand
    await ws.switchByHand('machine', 1);

    // THEN within a few seconds (the interval is 2 s) the page shows the machine and its deployment drifted
    const switched = Date.now();
    await eventually(
      'the machine drifted on the page',
      async () => (await machineState(DEPLOYMENT, 'machine')) === 'drifted',
      15_000,
      250,
    );
    assert.ok(Date.now() - switched < 15_000);
    assert.equal((await deployment(DEPLOYMENT))?.state, 'drifted');
    await page.screenshot(join(REPO_ROOT, 'docs/fleet-page.png'));
  });

  it('shows the failure reason of a broken network file, keeping the machines as last seen', async () => {
    await ws.write('network.nix', network.replace('network.description', 'network.description ='));
    const d = await eventually(
      'the deployment failed on the page',
      async () => {
        const found = await deployment(DEPLOYMENT);
        return found?.state === 'failed' ? found : undefined;
      },
      60_000,
      250,
    );
    assert.match(d.text, /EvaluationFailed/);
    assert.deepEqual(
      d.machines.map((m) => m.name),
      ['machine'],
    );
  });

  it('shows a machine whose name is markup as text, and the failure it met', async () => {
    // GIVEN a machine named with markup, on a loopback port where nothing listens, so that it fails to connect
    const closed = await freePort();
    await ws.write(
      'hostile.nix',
      `{ ${JSON.stringify(HOSTILE_MACHINE)} = { deployment.targetHost = "127.0.0.1"; ` +
        `deployment.targetPort = ${closed}; system.stateVersion = "24.05"; }; }`,
    );
    await ws.write('hostile.yaml', quickManifest(HOSTILE, ['hostile.nix'], 'Report'));

    // THEN the page shows its name and its failure as text, and no markup of theirs runs
    const hostile = await eventually(
      'the hostile deployment to fail',
      async () => {
        const d = await deployment(HOSTILE);
        return d?.state === 'failed' && d.machines.length > 0 ? d : undefined;
      },
      60_000,
      250,
    );
    assert.equal(hostile.machines[0]!.name, HOSTILE_MACHINE);
    assert.equal(hostile.machines[0]!.state, 'failed');
    assert.equal(await page.evaluate<number>("document.querySelectorAll('img').length"), 0);
    assert.equal(await page.evaluate<unknown>('window.__injected'), undefined);
  });

  it("shows a real rollout's wave as it bakes, then the deployment ready on a new generation", async () => {
    // GIVEN the good network again, rolled out in one wave that bakes for 5 s
    const before = (await ws.state()).machines.machine?.activated?.generation ?? 0;
    await ws.write(
      'local.yaml',
      quickManifest(DEPLOYMENT, undefined, 'Report', [
        'rollout: { strategy: { bakeTime: 5s, waves: [{ count: 1 }] } }',
      ]),
    );
    // WHEN a change is rolled out
    await ws.write('network.nix', network.replace('deployed by Reconix', 'deployed by Reconix, in waves'));
    // THEN the page shows the wave baking, then the deployment ready on a new generation
    const text = () => page.evaluate<string>('document.body.textContent');
    await eventually(
      'the wave baking on the page',
      async () => /wave 1 of 1: baking/.test(await text()),
      120_000,
      100,
    );
    await eventually(
      'the deployment ready after the rollout',
      async () => (await deployment(DEPLOYMENT))?.state === 'ready',
      60_000,
      250,
    );
    assert.ok(((await ws.state()).machines.machine?.activated?.generation ?? 0) > before);
  });
});
