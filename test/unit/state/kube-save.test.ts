// Saving a state held in a ConfigMap: saves that arrive while a write is in progress share the one queued behind
// it (many resources saving their tokens at once write a few times, not once each), and every save still
// resolves only once a write that holds its changes is done.
import assert from 'node:assert/strict';
import type { V1ConfigMap } from '@kubernetes/client-node';
import type { DeploymentState } from '../../../src/core/model.js';
import { KubeStateStore, type ConfigMapApi } from '../../../src/state/kube-store.js';

/** ConfigMaps in memory; each write takes a turn of the event loop, as a call to a server would. */
class MemoryConfigMaps implements ConfigMapApi {
  readonly maps = new Map<string, V1ConfigMap>();
  writes = 0;

  private async stored(body: V1ConfigMap): Promise<V1ConfigMap> {
    await new Promise((r) => setTimeout(r, 2));
    this.writes++;
    const copy = structuredClone(body);
    this.maps.set(`${body.metadata?.namespace}/${body.metadata?.name}`, copy);
    return copy;
  }

  readNamespacedConfigMap(p: { name: string; namespace: string }): Promise<V1ConfigMap> {
    const m = this.maps.get(`${p.namespace}/${p.name}`);
    return m
      ? Promise.resolve(structuredClone(m))
      : Promise.reject(Object.assign(new Error('not found'), { code: 404 }));
  }
  createNamespacedConfigMap(p: { namespace: string; body: V1ConfigMap }): Promise<V1ConfigMap> {
    return this.stored(p.body);
  }
  replaceNamespacedConfigMap(p: {
    name: string;
    namespace: string;
    body: V1ConfigMap;
  }): Promise<V1ConfigMap> {
    return this.stored(p.body);
  }
  deleteNamespacedConfigMap(p: { name: string; namespace: string }): Promise<unknown> {
    this.maps.delete(`${p.namespace}/${p.name}`);
    return Promise.resolve({});
  }
  listConfigMapForAllNamespaces(): Promise<{ items: V1ConfigMap[] }> {
    return Promise.resolve({ items: [...this.maps.values()] });
  }

  state(): DeploymentState {
    const m = [...this.maps.values()][0];
    return JSON.parse(m?.data?.['state.json'] ?? '{}') as DeploymentState;
  }
}

describe('saving a deployment state held in a ConfigMap', () => {
  it('lets saves made before the queued write starts share it, each resolving once its change is written', async () => {
    const api = new MemoryConfigMaps();
    const store = new KubeStateStore({ api, identity: 'test', renewEveryMs: 3_600_000 });
    const h = await store.acquire('default.web', 'test');
    const before = api.writes;
    const saves: Promise<void>[] = [];
    for (let i = 0; i < 50; i++) {
      const name = `m${i}`;
      h.state.machines[name] = { targetEnv: 'none' };
      saves.push(h.save().then(() => assert.ok(api.state().machines[name], `${name} written when saved`)));
    }
    await Promise.all(saves);
    assert.ok(api.writes - before <= 2, `${api.writes - before} writes for 50 saves`);
    h.state.machines.late = { targetEnv: 'none' };
    await h.save();
    assert.ok(api.state().machines.late, 'a save after those writes writes again');
    await h.release();
  });
});
