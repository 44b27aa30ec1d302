// A leader whose API server stops answering (a partition: requests hang, they do not fail) gives up leading
// within its renew deadline, before the Lease it last renewed can expire for the other replicas.
import assert from 'node:assert/strict';
import type { V1Lease } from '@kubernetes/client-node';
import { LeaderElector } from '../../../src/controller/kube/leader.js';
import type { LeaseApi } from '../../../src/kube/api.js';
import { silentLogger } from '../../../src/util/log.js';

/** A Lease kept in memory; once `hang` is set, every call waits forever. */
function leaseApi(): LeaseApi & { hang: boolean } {
  let lease: V1Lease | undefined;
  let version = 0;
  const never = new Promise<never>(() => {});
  const api = {
    hang: false,
    readNamespacedLease() {
      if (api.hang) return never;
      if (!lease) return Promise.reject(Object.assign(new Error('not found'), { code: 404 }));
      return Promise.resolve(structuredClone(lease));
    },
    createNamespacedLease(p: { body: V1Lease }) {
      if (api.hang) return never;
      lease = { ...p.body, metadata: { ...p.body.metadata, resourceVersion: String(++version) } };
      return Promise.resolve(lease);
    },
    replaceNamespacedLease(p: { body: V1Lease }) {
      if (api.hang) return never;
      lease = { ...p.body, metadata: { ...p.body.metadata, resourceVersion: String(++version) } };
      return Promise.resolve(lease);
    },
  };
  return api;
}

describe('leader election against an API server that stops answering', () => {
  it('stops leading within the renew deadline though no request ever fails', async () => {
    // GIVEN a leader with a 3 s lease, a 1.5 s renew deadline and renewals every 200 ms
    const api = leaseApi();
    const elector = new LeaderElector({
      api,
      namespace: 'default',
      name: 'l',
      identity: 'a',
      log: silentLogger,
      leaseDurationMs: 3000,
      renewDeadlineMs: 1500,
      retryPeriodMs: 200,
    });
    let led = 0;
    const done = elector.run(() => void (led = Date.now()));
    await new Promise((r) => setTimeout(r, 500));
    assert.ok(led > 0 && elector.isLeader);

    // WHEN every request hangs from now on
    api.hang = true;
    const cut = Date.now();
    const why = await done;

    // THEN it gave up within the renew deadline (plus one retry period of slack), well before the lease expires
    const after = Date.now() - cut;
    assert.equal(why, 'lost');
    assert.equal(elector.isLeader, false);
    assert.ok(after <= 1500 + 200 + 150, `still leading ${after} ms after the cut`);
    await elector.stop();
  });
});
