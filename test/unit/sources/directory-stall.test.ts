// The directory controller and a failure's reaction: a stalled deployment is not retried until its files change.
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Reason } from '../../../src/api/conditions.js';
import { type Reaction } from '../../../src/core/errors.js';
import type { ReconcileRequest } from '../../../src/core/request.js';
import type { ReconcileReport } from '../../../src/report/report.js';
import type { LoadResult } from '../../../src/source/deployments.js';
import { DirectoryController } from '../../../src/controller/directory/controller.js';

const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };

/** One deployment per `<name>.dep` file; its text is its input and says how its reconcile fails. */
async function load(root: string): Promise<LoadResult> {
  const result: LoadResult = { deployments: [], errors: [] };
  for (const f of await fs.readdir(root)) {
    if (!f.endsWith('.dep')) continue;
    const text = await fs.readFile(path.join(root, f), 'utf8');
    const name = f.slice(0, -4);
    result.deployments.push({
      name,
      manifestPath: path.join(root, f),
      spec: { network: { files: [] }, interval: '200ms', retryInterval: '20ms' },
      source: { deployment: name, files: [], args: {}, builder: 'mini' },
      inputHash: text,
    });
  }
  return result;
}

function report(req: ReconcileRequest, reaction: Reaction | undefined): ReconcileReport {
  const message = 'evaluating failed: syntax error at network.nix:3';
  return {
    deployment: req.name,
    op: 'deploy',
    ok: reaction === undefined,
    reason: reaction ? Reason.EvaluationFailed : Reason.ReconciliationSucceeded,
    message,
    ...(reaction
      ? { error: { reason: Reason.EvaluationFailed, message, reaction, scope: 'deployment' as const } }
      : {}),
    plan: { machines: [], actions: [] },
    machines: {},
    startedAt: new Date().toISOString(),
    durationMs: 1,
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('DirectoryController and stalled deployments', () => {
  let tmp: string;
  let controller: DirectoryController | undefined;
  const calls: string[] = [];

  beforeEach(async () => {
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'reconix-dir-stall-'));
    calls.length = 0;
  });
  afterEach(async () => {
    await controller?.stop();
    controller = undefined;
    await fs.rm(tmp, { recursive: true, force: true });
  });

  async function start(): Promise<void> {
    controller = new DirectoryController({
      dir: tmp,
      load,
      reconcile: async (req) => {
        calls.push(req.name);
        const text = await fs.readFile(path.join(tmp, `${req.name}.dep`), 'utf8');
        return report(
          req,
          text.startsWith('stall') ? 'stall' : text.startsWith('retry') ? 'retry' : undefined,
        );
      },
      revisionOf: async () => undefined,
      log: quiet,
      debounceMs: 20,
      linkPollMs: 100,
    });
    await controller.start();
  }

  it('neither retries nor resyncs a stalled deployment until its files change', async () => {
    await fs.writeFile(path.join(tmp, 'broken.dep'), 'stall v1');
    await fs.writeFile(path.join(tmp, 'flaky.dep'), 'retry v1');
    await start();
    // A window of several retry and resync periods of both (20 ms and 200 ms): a quiet period is measured.
    await sleep(1000);
    assert.equal(calls.filter((c) => c === 'broken').length, 1);
    assert.ok(calls.filter((c) => c === 'flaky').length >= 3, 'a retryable failure is retried');
    // WHEN the stalled deployment's input changes, it is reconciled again, and succeeds
    await fs.writeFile(path.join(tmp, 'broken.dep'), 'fixed v2');
    const deadline = Date.now() + 5000;
    while (controller?.lastReports.get('broken')?.ok !== true) {
      if (Date.now() > deadline) throw new Error('timed out waiting for the fixed deployment');
      await sleep(20);
    }
    assert.equal(calls.filter((c) => c === 'broken').length, 2);
  });

  it('reconciles a stalled deployment on request', async () => {
    await fs.writeFile(path.join(tmp, 'broken.dep'), 'stall v1');
    await start();
    await controller?.idle();
    controller?.requestReconcile('broken');
    await controller?.idle();
    assert.equal(calls.length, 2);
  });
});
