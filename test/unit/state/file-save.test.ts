// Saving a held state: every save resolves once the file holds the changes made before it, and saves that arrive
// while a write is in progress share the one queued behind it, so that N machines finishing at once do not write
// the state N times over.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { DeploymentState } from '../../../src/core/model.js';
import { FileStateStore } from '../../../src/state/file-store.js';

describe('saving the state of a deployment held by a run', () => {
  let dir: string;
  let store: FileStateStore;
  const onDisk = async (): Promise<DeploymentState> =>
    JSON.parse(await readFile(path.join(dir, 'deployments', 'web.json'), 'utf8')) as DeploymentState;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'reconix-save-'));
    store = new FileStateStore(dir);
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('resolves every save only once the file holds the changes made before it', async () => {
    const h = await store.acquire('web', 'test');
    const saves: Promise<void>[] = [];
    for (let i = 0; i < 50; i++) {
      h.state.machines[`m${i}`] = { targetEnv: 'none' };
      const name = `m${i}`;
      saves.push(
        h.save().then(async () => {
          assert.ok((await onDisk()).machines[name], `${name} is on disk when its save resolves`);
        }),
      );
    }
    await Promise.all(saves);
    assert.equal(Object.keys((await onDisk()).machines).length, 50);
    await h.release();
  });

  it('lets saves made before the queued write starts share that write', async () => {
    const h = await store.acquire('web', 'test');
    const first = h.save();
    h.state.machines.a = { targetEnv: 'none' };
    const second = h.save();
    assert.equal(first, second, 'the queued write serialises the state when it starts, with both changes');
    await second;
    assert.deepEqual(Object.keys((await onDisk()).machines), ['a']);
    h.state.machines.b = { targetEnv: 'none' };
    const later = h.save();
    assert.notEqual(later, second, 'a save after that write started queues a new one');
    await later;
    assert.deepEqual(Object.keys((await onDisk()).machines).sort(), ['a', 'b']);
    await h.release();
  });

  it('refuses a save after the lock was released', async () => {
    const h = await store.acquire('web', 'test');
    await h.release();
    await assert.rejects(h.save(), /saved after its lock was released/);
  });
});
