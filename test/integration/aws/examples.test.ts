// The EC2 examples, run against moto with the commands docs/ec2.md gives, and once bound to a local test host. The
// commands go through the test entry point: a machine bound to no test host is refused, never tried at moto's address.
import assert from 'node:assert/strict';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clientKey } from '../../../src/cli/deps.js';
import { NixEvaluator } from '../../../src/evaluate/evaluator.js';
import { listEverything } from '../../support/aws-listings.js';
import { reconixUnderTest } from '../../support/cli.js';
import { createTestHost } from '../../support/hosts.js';
import { MOTO_ENV } from '../../support/moto.js';
import { REPO_ROOT } from '../../support/workspace.js';
import { useMoto } from './helpers.js';

const REGION = 'us-east-1';

describe('the EC2 examples against moto', function () {
  this.timeout(300_000);
  const moto = useMoto(this);
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'reconix-aws-examples-'));
    await cp(join(REPO_ROOT, 'examples'), join(dir, 'examples'), { recursive: true });
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const cli = (args: string[], extra: Record<string, string> = {}) =>
    reconixUnderTest(['--state-dir', join(dir, 'state'), ...args], {
      ...MOTO_ENV,
      AWS_ENDPOINT_URL: moto().endpoint,
      ...extra,
    });

  it('s3-bucket: plan, deploy, plan again, destroy', async () => {
    const f = ['-f', join(dir, 'examples/s3-bucket/s3.yaml')];
    const plan = await cli([...f, 'plan']);
    assert.equal(plan.code, 1, plan.stdout + plan.stderr);
    assert.match(plan.stdout, /\+ s3Buckets\.data will be created/);
    const deploy = await cli([...f, 'deploy']);
    // moto runs no machine: the instance exists, but there is nothing to reach over SSH, and the test entry
    // refuses the machine before anything could try moto's address for it.
    assert.equal(deploy.code, 1, deploy.stdout + deploy.stderr);
    assert.match(deploy.stdout, /\+ s3Buckets\.data was created/);
    assert.match(deploy.stdout, /machine {2}FAILED \(HostUnreachable\): machine is not bound to a test host/);
    let all = await listEverything(moto().clients(), [REGION]);
    assert.deepEqual(
      [all.buckets, all.keyPairs, all.instances.length],
      [['reconix-example-data'], [`${REGION}/reconix-s3-bucket-kp`], 1],
    );
    const again = await cli([...f, 'plan', '--json']);
    const resources = (JSON.parse(again.stdout) as { resources: { action: string }[] }).resources;
    assert.deepEqual(new Set(resources.map((r) => r.action)), new Set(['unchanged']));
    const destroy = await cli([...f, 'destroy', '--delete-nonempty-buckets']);
    assert.equal(destroy.code, 0, destroy.stdout + destroy.stderr);
    all = await listEverything(moto().clients(), [REGION]);
    assert.deepEqual([all.buckets, all.keyPairs, all.instances], [[], [], []]);
  });

  it('trivial-ec2: deploys all the way to an activated system when bound to a local test host', async function () {
    if (process.getuid?.() !== 0) this.skip();
    const key = await clientKey(join(dir, 'state'));
    const host = await createTestHost({ clientPublicKey: key.publicKey });
    try {
      const map = { machine: { host: host.address, port: 22, user: 'root', hostPublicKey: host.hostKey } };
      await writeFile(join(dir, 'map.json'), JSON.stringify(map));
      const f = ['-f', join(dir, 'examples/trivial-ec2/ec2.yaml')];
      const deploy = await cli([...f, 'deploy'], { TEST_CLI_ADDRESS_MAP: join(dir, 'map.json') });
      assert.equal(deploy.code, 0, deploy.stdout + deploy.stderr);
      assert.ok(await host.currentSystem());
      const all = await listEverything(moto().clients(), [REGION]);
      assert.deepEqual(all.groups, [`${REGION}/reconix-trivial-ec2-ssh`]);
      assert.equal(all.instances[0]?.KeyName, 'reconix-trivial-ec2-my-key-pair');
      for (const op of ['stop', 'start', 'destroy']) {
        const r = await cli([...f, op], { TEST_CLI_ADDRESS_MAP: join(dir, 'map.json') });
        assert.equal(r.code, 0, `${op}:\n${r.stdout}${r.stderr}`);
      }
      const left = await listEverything(moto().clients(), [REGION]);
      assert.deepEqual([left.instances, left.groups, left.keyPairs], [[], [], []]);
    } finally {
      await host.destroy();
    }
  });

  it('evaluate with the mini builder, and a misspelt EC2 option is an evaluation error', async () => {
    const evaluator = new NixEvaluator({ scratchDir: join(dir, 'eval') });
    for (const [example, files] of [
      ['trivial-ec2', ['network.nix', 'physical-ec2.nix']],
      ['s3-bucket', ['network.nix']],
    ] as const) {
      const src = {
        deployment: example,
        files: files.map((f) => join(dir, 'examples', example, f)),
        args: {},
        builder: 'mini' as const,
      };
      const view = await evaluator.physical(src);
      assert.deepEqual(
        Object.values(view.machines).map((m) => m.targetEnv),
        ['ec2'],
      );
      const systems = await evaluator.systems(
        src,
        { machines: {}, resources: {} },
        Object.keys(view.machines),
      );
      assert.deepEqual(Object.keys(systems), Object.keys(view.machines));
    }
    await writeFile(
      join(dir, 'typo.nix'),
      '{ machine = { deployment.targetEnv = "ec2"; deployment.ec2.instanceTyp = "t3.micro"; }; }',
    );
    await assert.rejects(
      evaluator.physical({ deployment: 't', files: [join(dir, 'typo.nix')], args: {}, builder: 'mini' }),
      /deployment\.ec2\.instanceTyp/,
    );
  });
});
