// Observation is batched (calls per region do not grow with the number of machines), and throttling and 5xx
// answers are retried with backoff; a failure that stays names the AWS error code and what was being done.
import assert from 'node:assert/strict';
import pLimit from 'p-limit';
import type { MachinePhysical } from '../../../src/core/model.js';
import { createAwsClients, Ec2TargetProvider } from '../../../src/providers/aws/index.js';
import { listInstances } from '../../../src/providers/aws/instances/ec2.js';
import { flakyProxy, MOTO_ENV } from '../../support/moto.js';
import { ec2Machine, fastClock, useMoto, useWorld, view } from './helpers.js';

const R = 'eu-west-1';
const AMI = 'ami-12c6146b';

function fleet(n: number): MachinePhysical[] {
  return Array.from({ length: n }, (_, i) =>
    ec2Machine(
      `m${String(i).padStart(2, '0')}`,
      i % 2 === 0
        ? { region: R, ami: AMI, securityGroups: [{ _ref: 'ec2SecurityGroups.sg' }] }
        : { region: 'us-east-1', ami: AMI },
    ),
  );
}

const resources = {
  ec2SecurityGroups: { sg: { region: R, rules: [{ fromPort: 22, sourceIp: '0.0.0.0/0' }] } },
  s3Buckets: { b: { region: R, name: 'batching-bucket' } },
};

describe('AWS calls: batching and retries', function () {
  this.timeout(300_000);
  const moto = useMoto(this);
  const w = useWorld(this, moto);

  /** A reconcile's AWS part: the resource manager, then the provider's observation. Returns calls by region. */
  async function reconcileCalls(machines: MachinePhysical[]): Promise<Record<string, number>> {
    w.counter.reset();
    const physical = view(resources, machines);
    const { facts } = await w.manager().reconcile(w.ctx(physical), true);
    const seen = await w.provider().observe('test', machines, w.state.machines, facts);
    assert.ok(Object.values(seen).every((o) => o.running));
    const perRegion: Record<string, number> = {};
    for (const c of w.counter.calls) perRegion[c.region] = (perRegion[c.region] ?? 0) + 1;
    return perRegion;
  }

  async function launch(machines: MachinePhysical[]): Promise<void> {
    const physical = view(resources, machines);
    const { facts } = await w.manager().reconcile(w.ctx(physical), true);
    const p = w.provider();
    const limit = pLimit(8);
    await Promise.all(machines.map((m) => limit(() => p.create(m, w.targetCtx(m.name, facts)))));
  }

  it('makes as many calls per region for 50 machines as for 4, one DescribeInstances per region', async () => {
    const small = fleet(4);
    await launch(small);
    const forFour = await reconcileCalls(small);
    const big = fleet(50);
    await launch(big.slice(4));
    const forFifty = await reconcileCalls(big);
    assert.deepEqual(forFifty, forFour);
    assert.equal(w.counter.count({ command: 'DescribeInstances', region: R }), 1);
    assert.equal(w.counter.count({ command: 'DescribeInstances', region: 'us-east-1' }), 1);
    assert.equal(w.counter.count({ command: 'RunInstances' }), 0);
  });

  it('retries throttling and 503 answers with backoff until the call succeeds', async () => {
    for (const kind of ['throttled', 'unavailable'] as const) {
      const proxy = await flakyProxy(moto().endpoint, 3, kind);
      try {
        const clients = moto().clients([], proxy.endpoint);
        const started = Date.now();
        assert.deepEqual(await listInstances(clients, R, 'nobody'), []);
        assert.equal(proxy.failed(), 3, kind);
        assert.equal(proxy.forwarded(), 1, kind);
        assert.ok(Date.now() - started >= 50, `${kind}: retried without waiting`);
      } finally {
        await proxy.close();
      }
    }
  });

  it('names the AWS error code, the HTTP status and the object when retries run out', async () => {
    const proxy = await flakyProxy(moto().endpoint, 1000, 'unavailable');
    try {
      const clients = createAwsClients({
        endpoint: proxy.endpoint,
        credentials: {
          accessKeyId: MOTO_ENV.AWS_ACCESS_KEY_ID,
          secretAccessKey: MOTO_ENV.AWS_SECRET_ACCESS_KEY,
        },
        maxAttempts: 2,
      });
      const provider = new Ec2TargetProvider({
        clients,
        secrets: w.secrets,
        clock: fastClock,
      });
      await assert.rejects(
        provider.observe('test', fleet(1), {}, {}),
        (err: Error & { reason?: string; reaction?: string }) => {
          assert.equal(err.reason, 'CloudError');
          assert.equal(err.reaction, 'retry');
          assert.match(
            err.message,
            /listing instances in eu-west-1: AWS error ServiceUnavailable \(HTTP 503\)/,
          );
          return true;
        },
      );
      assert.equal(proxy.failed(), 2);
    } finally {
      await proxy.close();
    }
  });
});
