// An AWS endpoint of one's own (a VPC or FIPS endpoint; moto here) changes where the SDK sends its calls, not where
// SSH goes: the ec2 target as the command line builds it offers each instance's own address, as against AWS.
// Nothing here connects to that address; the test only reads the observation.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MachineRecord, TargetRecord } from '../../../src/core/model.js';
import { buildAws } from '../../../src/cli/aws.js';
import { listEverything } from '../../support/aws-listings.js';
import { MOTO_ENV } from '../../support/moto.js';
import { ec2Machine, useMoto } from './helpers.js';

const R = 'eu-west-1';

describe('the ec2 target with an AWS endpoint set in the environment', function () {
  this.timeout(120_000);
  const moto = useMoto(this);
  let dir: string;
  const saved: Record<string, string | undefined> = {};

  /** Set the environment for one test; restored afterwards. */
  function setEnv(vars: Record<string, string>): void {
    for (const [k, v] of Object.entries(vars)) {
      if (!(k in saved)) saved[k] = process.env[k];
      process.env[k] = v;
    }
  }

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'reconix-aws-endpoint-'));
  });
  afterEach(async () => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
      delete saved[k];
    }
    await rm(dir, { recursive: true, force: true });
  });

  for (const [what, vars] of [
    ['AWS_ENDPOINT_URL', (url: string) => ({ AWS_ENDPOINT_URL: url })],
    ['AWS_ENDPOINT_URL_EC2', (url: string) => ({ AWS_ENDPOINT_URL_EC2: url })],
  ] as const) {
    it(`offers the instance's address as SSH endpoint with ${what} set and no override`, async () => {
      // GIVEN the environment of a user whose SDK calls go to another endpoint
      setEnv({ ...MOTO_ENV, ...vars(moto().endpoint) });
      const { provider } = await buildAws(dir, {});
      const m = ec2Machine('web', { region: R, ami: 'ami-12c6146b' });
      const records: Record<string, MachineRecord | undefined> = {};
      // WHEN the machine's instance is created and observed
      await provider.create(m, {
        deployment: 'ep',
        clientPublicKey: '',
        facts: {},
        save: async (target) => {
          records.web = { targetEnv: 'ec2', target };
        },
      });
      const seen = await provider.observe('ep', [m], records, {});
      // THEN SSH would go to the instance's own address, as without an endpoint
      const [inst] = (await listEverything(moto().clients(), [R])).instances;
      const host = inst?.PublicIpAddress ?? inst?.PrivateIpAddress;
      assert.ok(host, 'moto gave the instance an address');
      assert.deepEqual(seen.web?.endpoint, { host, port: 22, user: 'root' });
      assert.equal(seen.web?.running, true);
    });
  }

  it('offers the override instead when the command line is given one', async () => {
    setEnv({ ...MOTO_ENV, AWS_ENDPOINT_URL: moto().endpoint });
    const there = {
      endpoint: { host: '127.78.0.9', port: 2222, user: 'root' },
      hostPublicKey: 'ssh-ed25519 AAAAx',
    };
    const { provider } = await buildAws(dir, {
      addressOverride: (name) => (name === 'web' ? there : undefined),
    });
    const records: Record<string, MachineRecord | undefined> = {};
    const save = (name: string) => async (target: TargetRecord) => {
      records[name] = { targetEnv: 'ec2', target };
    };
    const machines = ['web', 'db'].map((n) => ec2Machine(n, { region: R, ami: 'ami-12c6146b' }));
    for (const m of machines)
      await provider.create(m, { deployment: 'ep', clientPublicKey: '', facts: {}, save: save(m.name) });
    const seen = await provider.observe('ep', machines, records, {});
    assert.deepEqual(
      [seen.web?.endpoint, seen.web?.facts.hostPublicKey],
      [there.endpoint, there.hostPublicKey],
    );
    const db = (await listEverything(moto().clients(), [R])).instances.find((i) =>
      i.Tags?.some((t) => t.Key === 'reconix:name' && t.Value === 'db'),
    );
    assert.equal(seen.db?.endpoint?.host, db?.PublicIpAddress ?? db?.PrivateIpAddress);
  });
});
