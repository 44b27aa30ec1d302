import assert from 'node:assert/strict';
import type { CoreV1Event, V1Lease } from '@kubernetes/client-node';
import type { EventApi, LeaseApi } from '../../../src/kube/api.js';
import { EventRecorder } from '../../../src/controller/kube/events.js';
import { LeaderElector } from '../../../src/controller/kube/leader.js';
import type { NixDeploymentObject } from '../../../src/kube/object.js';

const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };
const notFound = () => Object.assign(new Error('not found'), { code: 404 });
const conflict = () => Object.assign(new Error('conflict'), { code: 409 });

class FakeEvents implements EventApi {
  readonly created: CoreV1Event[] = [];
  readonly patched: { name: string; body: { count: number } }[] = [];
  expired = false;
  async createNamespacedEvent(p: { namespace: string; body: CoreV1Event }) {
    this.created.push(p.body);
    return p.body;
  }
  async patchNamespacedEvent(p: { name: string; namespace: string; body: unknown }) {
    if (this.expired) throw notFound();
    this.patched.push({ name: p.name, body: p.body as { count: number } });
    return {} as CoreV1Event;
  }
}

const obj: NixDeploymentObject = {
  apiVersion: 'reconix.dev/v1alpha1',
  kind: 'NixDeployment',
  metadata: { name: 'webapp', namespace: 'default', uid: 'u1' },
  spec: { network: { files: ['n.nix'] } },
};

describe('EventRecorder', () => {
  it('aggregates repeats of the same event into a count instead of new events', async () => {
    const api = new FakeEvents();
    const rec = new EventRecorder({ api, component: 'c', instance: 'i', log: quiet });
    for (let i = 0; i < 5; i++) await rec.record(obj, 'Warning', 'DriftDetected', 'web drifted');
    await rec.record(obj, 'Warning', 'DriftDetected', 'db drifted');
    assert.equal(api.created.length, 2);
    assert.deepEqual(
      api.patched.map((p) => p.body.count),
      [2, 3, 4, 5],
    );
    assert.equal(api.created[0]?.involvedObject.uid, 'u1');
  });

  it('starts a new event when the old one expired', async () => {
    const api = new FakeEvents();
    const rec = new EventRecorder({ api, component: 'c', instance: 'i', log: quiet });
    await rec.record(obj, 'Normal', 'Activated', 'x');
    api.expired = true;
    await rec.record(obj, 'Normal', 'Activated', 'x');
    assert.equal(api.created.length, 2);
  });

  it('limits a flapping object to its burst, then one event per refill period', async () => {
    const api = new FakeEvents();
    let now = 0;
    const rec = new EventRecorder({
      api,
      component: 'c',
      instance: 'i',
      log: quiet,
      burst: 3,
      refillMs: 1000,
      now: () => new Date(now),
    });
    for (let i = 0; i < 10; i++) await rec.record(obj, 'Warning', 'Failed', `attempt ${i}`);
    assert.equal(api.created.length, 3);
    now = 1000;
    await rec.record(obj, 'Warning', 'Failed', 'later');
    assert.equal(api.created.length, 4);
  });
});

class FakeLeases implements LeaseApi {
  lease: V1Lease | undefined;
  version = 0;
  async readNamespacedLease() {
    if (!this.lease) throw notFound();
    return structuredClone(this.lease);
  }
  async createNamespacedLease(p: { namespace: string; body: V1Lease }) {
    if (this.lease) throw conflict();
    this.lease = { ...p.body, metadata: { ...p.body.metadata, resourceVersion: String(++this.version) } };
    return this.lease;
  }
  async replaceNamespacedLease(p: { name: string; namespace: string; body: V1Lease }) {
    if (p.body.metadata?.resourceVersion !== this.lease?.metadata?.resourceVersion) throw conflict();
    this.lease = { ...p.body, metadata: { ...p.body.metadata, resourceVersion: String(++this.version) } };
    return this.lease;
  }
}

describe('LeaderElector', () => {
  const elector = (api: LeaseApi, identity: string, clock: { t: number }) =>
    new LeaderElector({ api, namespace: 'ns', name: 'l', identity, log: quiet, now: () => clock.t });

  it('lets one candidate hold the Lease until it goes unrenewed for the lease duration', async () => {
    const api = new FakeLeases();
    const clock = { t: 0 };
    const a = elector(api, 'a', clock);
    const b = elector(api, 'b', clock);
    assert.equal(await a.tryAcquireOrRenew(), true);
    assert.equal(await b.tryAcquireOrRenew(), false);
    clock.t = 10_000;
    assert.equal(await a.tryAcquireOrRenew(), true); // renewed
    clock.t = 20_000;
    assert.equal(await b.tryAcquireOrRenew(), false); // b sees the renewal now, on its own clock
    clock.t = 34_000;
    assert.equal(await b.tryAcquireOrRenew(), false);
    clock.t = 35_500;
    assert.equal(await b.tryAcquireOrRenew(), true); // 15 s since b last saw the Lease change
    assert.equal(api.lease?.spec?.holderIdentity, 'b');
    assert.equal(api.lease?.spec?.leaseTransitions, 1);
    assert.equal(await a.tryAcquireOrRenew(), false);
  });

  it('hands the Lease over at once when the leader stops', async () => {
    const api = new FakeLeases();
    const clock = { t: Date.now() };
    const a = new LeaderElector({
      api,
      namespace: 'ns',
      name: 'l',
      identity: 'a',
      log: quiet,
      retryPeriodMs: 10,
    });
    const running = a.run(() => undefined);
    while (!a.isLeader) await new Promise((r) => setTimeout(r, 5));
    await a.stop();
    assert.equal(await running, 'stopped');
    assert.equal(api.lease?.spec?.holderIdentity, '');
    assert.equal(await elector(api, 'b', clock).tryAcquireOrRenew(), true);
  });
});
