import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Reason } from '../../../src/api/conditions.js';
import type { ReconcileRequest } from '../../../src/core/request.js';
import type { ReconcileReport } from '../../../src/report/report.js';
import type { LoadResult } from '../../../src/source/deployments.js';
import { DirectoryController } from '../../../src/controller/directory/controller.js';

const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };

/** A loader that reads `<name>.dep` files: their content is the input; "bad" marks a broken manifest. */
async function fakeLoad(root: string): Promise<LoadResult> {
  const result: LoadResult = { deployments: [], errors: [] };
  for (const f of await fs.readdir(root)) {
    if (!f.endsWith('.dep')) continue;
    const name = f.slice(0, -4);
    const text = await fs.readFile(path.join(root, f), 'utf8');
    if (text.includes('bad')) {
      result.errors.push({ path: f, name, message: 'broken' });
      continue;
    }
    result.deployments.push({
      name,
      manifestPath: path.join(root, f),
      spec: {
        network: { files: [] },
        interval: '1h',
        ...(text.includes('fail') ? { retryInterval: '50ms' } : {}),
      },
      source: { deployment: name, files: [], args: {}, builder: 'mini' },
      inputHash: createHash('sha256')
        .update(text + root)
        .digest('hex'),
    });
  }
  return result;
}

function report(req: ReconcileRequest, ok: boolean): ReconcileReport {
  return {
    deployment: req.name,
    op: 'deploy',
    ok,
    reason: ok ? Reason.ReconciliationSucceeded : Reason.EvaluationFailed,
    message: '',
    plan: { machines: [], actions: [] },
    machines: {},
    startedAt: new Date().toISOString(),
    durationMs: 1,
    ...(req.revision ? { revision: req.revision } : {}),
  };
}

async function until(what: string, cond: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('DirectoryController', () => {
  let tmp: string;
  let controller: DirectoryController | undefined;
  const calls: ReconcileRequest[] = [];
  const failing = new Set<string>();

  beforeEach(async () => {
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'reconix-dir-'));
    calls.length = 0;
    failing.clear();
  });
  afterEach(async () => {
    await controller?.stop();
    controller = undefined;
    await fs.rm(tmp, { recursive: true, force: true });
  });

  function start(dir: string, revisionOf = async (root: string) => path.basename(root)) {
    controller = new DirectoryController({
      dir,
      load: fakeLoad,
      reconcile: async (req) => {
        calls.push(req);
        return report(req, !failing.has(req.name));
      },
      revisionOf,
      log: quiet,
      debounceMs: 50,
      linkPollMs: 100,
    });
    return controller.start();
  }

  it('reconciles every deployment once at start and again when its file changes, not the others', async () => {
    // GIVEN two deployments
    await fs.writeFile(path.join(tmp, 'a.dep'), 'v1');
    await fs.writeFile(path.join(tmp, 'b.dep'), 'v1');
    await start(tmp);
    await until('initial reconciles', () => calls.length === 2);
    // WHEN one of them is edited
    await fs.writeFile(path.join(tmp, 'a.dep'), 'v2');
    // THEN only that one is reconciled again
    await until('reconcile of a', () => calls.length === 3);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(calls.filter((c) => c.name === 'b').length, 1);
    assert.equal(calls.filter((c) => c.name === 'a').length, 2);
  });

  it('follows a symlink swapped atomically to a new tree and reports its revision', async () => {
    // GIVEN a link pointing at a first tree
    const t1 = path.join(tmp, 'rev1');
    const t2 = path.join(tmp, 'rev2');
    await fs.mkdir(t1);
    await fs.mkdir(t2);
    await fs.writeFile(path.join(t1, 'a.dep'), 'v1');
    await fs.writeFile(path.join(t2, 'a.dep'), 'v2');
    const link = path.join(tmp, 'current');
    await fs.symlink('rev1', link);
    await start(link);
    await until('first reconcile', () => calls.length === 1);
    assert.equal(calls[0]?.revision, 'rev1');
    // WHEN the link is replaced by a rename, as git-sync does
    await fs.symlink('rev2', path.join(tmp, 'tmp-link'));
    await fs.rename(path.join(tmp, 'tmp-link'), link);
    // THEN the new tree is reconciled at its revision
    await until('reconcile of the new tree', () => calls.length === 2);
    assert.equal(calls[1]?.revision, 'rev2');
    // AND edits in the old tree no longer count
    await fs.writeFile(path.join(t1, 'a.dep'), 'v3');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(calls.length, 2);
  });

  it('retries a failing deployment with backoff while the others carry on', async () => {
    await fs.writeFile(path.join(tmp, 'bad.dep'), 'fail');
    await fs.writeFile(path.join(tmp, 'good.dep'), 'v1');
    failing.add('bad');
    await start(tmp);
    await until('three attempts of bad', () => calls.filter((c) => c.name === 'bad').length >= 3, 3000);
    assert.equal(calls.filter((c) => c.name === 'good').length, 1);
  });

  it('keeps a deployment whose manifest breaks, and reports the error', async () => {
    await fs.writeFile(path.join(tmp, 'a.dep'), 'v1');
    await start(tmp);
    await until('first reconcile', () => calls.length === 1);
    await fs.writeFile(path.join(tmp, 'a.dep'), 'bad');
    await until('load error', () => (controller?.loadErrors.length ?? 0) === 1);
    assert.equal(calls.length, 1);
  });
});
