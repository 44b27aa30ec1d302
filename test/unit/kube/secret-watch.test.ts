// Waking stalled deployments when one of their Secrets changes, from resourceVersions read by name.
import assert from 'node:assert/strict';
import type { V1Secret } from '@kubernetes/client-node';
import type { SecretApi } from '../../../src/kube/api.js';
import {
  recordingSecrets,
  SecretWatch,
  type SecretVersions,
} from '../../../src/controller/kube/secret-watch.js';

const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };

/** Secrets by "namespace/name" with their resourceVersion; `down` makes every read fail with a 503. */
function fakeSecrets() {
  const versions = new Map<string, string>();
  const reads: string[] = [];
  let down = false;
  const api: SecretApi = {
    async readNamespacedSecret({ name, namespace }): Promise<V1Secret> {
      const id = `${namespace}/${name}`;
      reads.push(id);
      if (down) throw Object.assign(new Error('unavailable'), { code: 503 });
      const v = versions.get(id);
      if (v === undefined) throw Object.assign(new Error('not found'), { code: 404 });
      return { metadata: { name, namespace, resourceVersion: v }, data: { key: 'c2VjcmV0' } };
    },
  };
  return { api, versions, reads, setDown: (d: boolean) => void (down = d) };
}

describe('the Secret watch of stalled deployments', () => {
  it('wakes a deployment once when a Secret it uses changes, and not for others', async () => {
    const s = fakeSecrets();
    s.versions.set('ns/a-ssh', '10');
    s.versions.set('ns/b-ssh', '20');
    const woken: string[] = [];
    const w = new SecretWatch({ api: s.api, log: quiet, onChange: (key) => void woken.push(key) });
    w.watch('ns.a', 'ns', ['a-ssh'], { 'a-ssh': '10' });
    w.watch('ns.b', 'ns', ['b-ssh'], { 'b-ssh': '20' });
    await w.poll();
    assert.deepEqual(woken, []);
    // WHEN a's Secret gets a new key
    s.versions.set('ns/a-ssh', '11');
    await w.poll();
    await w.poll();
    // THEN a is woken once and no longer watched; b stays watched
    assert.deepEqual(woken, ['ns.a']);
    assert.equal(w.size, 1);
  });

  it('wakes a deployment whose missing Secret appears', async () => {
    const s = fakeSecrets();
    const woken: string[] = [];
    const w = new SecretWatch({ api: s.api, log: quiet, onChange: (key) => void woken.push(key) });
    w.watch('ns.a', 'ns', ['a-ssh'], { 'a-ssh': null });
    await w.poll();
    s.versions.set('ns/a-ssh', '1');
    await w.poll();
    assert.deepEqual(woken, ['ns.a']);
  });

  it('learns a version the reconcile did not see on its first read, and wakes on the next change', async () => {
    const s = fakeSecrets();
    s.versions.set('ns/aws', '5');
    const woken: string[] = [];
    const w = new SecretWatch({ api: s.api, log: quiet, onChange: (key) => void woken.push(key) });
    w.watch('ns.a', 'ns', ['aws']);
    await w.poll();
    assert.deepEqual(woken, []);
    s.versions.set('ns/aws', '6');
    await w.poll();
    assert.deepEqual(woken, ['ns.a']);
  });

  it('wakes nothing while the API server cannot answer', async () => {
    const s = fakeSecrets();
    s.versions.set('ns/a-ssh', '10');
    const woken: string[] = [];
    const w = new SecretWatch({ api: s.api, log: quiet, onChange: (key) => void woken.push(key) });
    w.watch('ns.a', 'ns', ['a-ssh'], { 'a-ssh': '10' });
    s.setDown(true);
    await w.poll();
    assert.deepEqual(woken, []);
    assert.equal(w.size, 1);
  });

  it('reads a Secret shared by several deployments once per round, and stops reading forgotten ones', async () => {
    const s = fakeSecrets();
    s.versions.set('ns/shared', '1');
    const w = new SecretWatch({ api: s.api, log: quiet, onChange: () => undefined });
    for (const key of ['ns.a', 'ns.b', 'ns.c']) w.watch(key, 'ns', ['shared'], { shared: '1' });
    await w.poll();
    assert.deepEqual(s.reads, ['ns/shared']);
    for (const key of ['ns.a', 'ns.b', 'ns.c']) w.forget(key);
    await w.poll();
    assert.equal(s.reads.length, 1);
  });

  it('records the versions a reconcile saw, a missing Secret as null, and keeps none of the data', async () => {
    const s = fakeSecrets();
    s.versions.set('ns/a-ssh', '7');
    const seen: SecretVersions = {};
    const api = recordingSecrets(s.api, seen);
    await api.readNamespacedSecret({ name: 'a-ssh', namespace: 'ns' });
    await assert.rejects(api.readNamespacedSecret({ name: 'gone', namespace: 'ns' }), /not found/);
    assert.deepEqual(seen, { 'a-ssh': '7', gone: null });
  });
});
