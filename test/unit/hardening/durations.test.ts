// Durations that reach timers: bounded where the manifest is loaded, and the work queue never fires a delay
// early (setTimeout fires anything above 2^31-1 ms at once) nor retries in a busy loop.
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Reason } from '../../../src/api/conditions.js';
import type { ReconcileRequest } from '../../../src/core/request.js';
import { DirectoryController } from '../../../src/controller/directory/controller.js';
import { WorkQueue } from '../../../src/controller/queue.js';
import type { ReconcileReport } from '../../../src/report/report.js';
import { parseManifests } from '../../../src/source/manifest.js';
import { loadDeployments } from '../../../src/source/load.js';
import { MAX_TIMER_MS, parseDuration } from '../../../src/util/duration.js';
import { eventually } from '../../support/workspace.js';
import { manifestDoc } from '../sources/manifests.js';

function loadError(extra: string): string | undefined {
  const [result] = parseManifests(manifestDoc('web', extra), 'web.yaml');
  assert.ok(result);
  return result.ok ? undefined : result.error.message;
}

describe('spec durations', () => {
  const cases: [string, RegExp | undefined][] = [
    ['  interval: 0s', /spec\.interval: "0s" is out of range: between 1s and 24h/],
    ['  interval: 999ms', /spec\.interval: "999ms" is out of range/],
    ['  interval: 1s', undefined],
    ['  interval: 24h', undefined],
    ['  interval: 24h1ms', /spec\.interval: "24h1ms" is out of range/],
    ['  interval: 597h', /spec\.interval: duration "597h" is too long: at most 2147483647 ms/],
    ['  interval: 99999999999999999999999h', /spec\.interval: duration .* is too long/],
    ['  retryInterval: 0ms', /spec\.retryInterval: "0ms" is out of range: between 50ms and 24h/],
    ['  retryInterval: 50ms', undefined],
    ['  retryInterval: 25h', /spec\.retryInterval: "25h" is out of range/],
    [
      '  rollout: { confirmTimeout: 500ms }',
      /spec\.rollout\.confirmTimeout: "500ms" is out of range: between 1s and 1h/,
    ],
    ['  rollout: { confirmTimeout: 30s, activationTimeout: 10m }', undefined],
    ['  rollout: { activationTimeout: 25h }', /spec\.rollout\.activationTimeout: "25h" is out of range/],
    ['  rollout: { activationTimeout: soon }', /spec\.rollout\.activationTimeout/],
  ];
  for (const [extra, expected] of cases) {
    it(`${expected ? 'refuses' : 'accepts'} ${extra.trim()} when the manifest is loaded`, () => {
      const message = loadError(extra);
      if (expected) assert.match(message ?? '(loaded)', expected);
      else assert.equal(message, undefined);
      if (message) assert.match(message, /^web\.yaml \(document 1, NixDeployment\/web\): /);
    });
  }

  it('parse to no more than a timer can wait', () => {
    assert.equal(parseDuration('596h31m23s647ms'), MAX_TIMER_MS);
    assert.throws(() => parseDuration('596h31m23s648ms'), /too long/);
  });
});

describe('the work queue with extreme delays', () => {
  const runs: string[] = [];
  const queue = (): WorkQueue =>
    new WorkQueue(async (key) => void runs.push(key), { concurrency: 1, baseDelayMs: 100, maxDelayMs: 1000 });
  beforeEach(() => (runs.length = 0));

  it('does not run a key scheduled beyond the timer limit (2^31 ms, Infinity, NaN) at once', async () => {
    const q = queue();
    q.addAfter('big', 2 ** 31);
    q.addAfter('inf', Infinity);
    q.addAfter('nan', NaN);
    q.addAfter('soon', 20);
    await eventually('the key due soon', async () => runs.includes('soon'), 2000, 5);
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual(runs, ['soon']);
    q.shutdown();
  });

  it('backs off a zero retry delay with its own base instead of retrying in a loop', () => {
    const q = queue();
    assert.equal(q.addRateLimited('a', 0, 0), 100);
    assert.equal(q.addRateLimited('a', 0, 0), 100);
    assert.equal(q.addRateLimited('b', -5, 1000), 100);
    assert.equal(q.addRateLimited('b', -5, 1000), 200);
    q.shutdown();
  });

  it('keeps the delay of the 2,000th consecutive failure finite and within the maximum', () => {
    const q = queue();
    let delay = 0;
    for (let i = 0; i < 2000; i++) delay = q.addRateLimited('x', 100, MAX_TIMER_MS * 4);
    assert.equal(delay, MAX_TIMER_MS);
    q.shutdown();
  });
});

describe('the directory controller with an interval of 0s', () => {
  it('reports the manifest as invalid, naming the field, and never reconciles it', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'reconix-interval-'));
    const calls: ReconcileRequest[] = [];
    await fs.writeFile(path.join(dir, 'network.nix'), '{ web = { }; }\n');
    await fs.writeFile(path.join(dir, 'a.yaml'), manifestDoc('a', '  interval: 0s'));
    const controller = new DirectoryController({
      dir,
      load: (root) => loadDeployments(root, path.join(dir, '.scratch')),
      reconcile: async (req) => {
        calls.push(req);
        return { deployment: req.name, ok: true, reason: Reason.ReconciliationSucceeded } as ReconcileReport;
      },
      revisionOf: async () => undefined,
      log: { info: () => undefined, warn: () => undefined, error: () => undefined },
    });
    try {
      await controller.start();
      await eventually('the load error', async () => controller.loadErrors.length === 1, 5000, 10);
      assert.match(controller.loadErrors[0]?.message ?? '', /spec\.interval: "0s" is out of range/);
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.equal(calls.length, 0);
    } finally {
      await controller.stop();
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
