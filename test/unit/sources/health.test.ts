import assert from 'node:assert/strict';
import { DirectoryHealth } from '../../../src/controller/directory/health.js';

describe('DirectoryHealth', () => {
  let now = 0;
  const health = () => new DirectoryHealth(1000, () => now);
  beforeEach(() => (now = 0));

  it('is not ready before the first load, nor while a deployment of it has not been reconciled', () => {
    const h = health();
    assert.equal(h.readiness().ok, false);
    assert.match(h.readiness().detail, /not been loaded/);
    h.firstLoadDone(['a', 'b']);
    h.started('a');
    h.finished('a');
    assert.deepEqual(h.readiness(), { ok: false, detail: 'waiting for the first reconcile of b' });
    h.done('b');
    assert.equal(h.readiness().ok, true);
  });

  it('is ready at once when the first load finds no deployment, and stays ready', () => {
    const h = health();
    h.firstLoadDone([]);
    assert.equal(h.readiness().ok, true);
    h.firstLoadDone(['late']);
    assert.equal(h.readiness().ok, true);
  });

  it('is not ready while the source holds no manifest, saying so, and ready once one is found', () => {
    const h = health();
    h.sourceEmpty('no NixDeployment manifests found under /src (searched 3 files to depth 4)');
    h.firstLoadDone([]);
    assert.deepEqual(h.readiness(), {
      ok: false,
      detail: 'no NixDeployment manifests found under /src (searched 3 files to depth 4)',
    });
    h.sourceEmpty(undefined);
    assert.equal(h.readiness().ok, true);
  });

  it('counts a reconcile that ended before the first load was counted', () => {
    const h = health();
    h.started('a');
    h.finished('a');
    h.firstLoadDone(['a']);
    assert.equal(h.readiness().ok, true);
  });

  it('is live until a reconcile runs longer than the threshold, and again once it ends', () => {
    const h = health();
    h.started('a');
    now = 1000;
    assert.equal(h.liveness().ok, true);
    now = 2500;
    assert.deepEqual(h.liveness(), { ok: false, detail: 'reconcile running longer than 1 s: a (3 s)' });
    h.finished('a');
    assert.equal(h.liveness().ok, true);
  });
});
