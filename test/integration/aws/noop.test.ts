// Right after a deploy, a plan changes nothing, for every kind of cloud object: tags (and every other attribute)
// compare by value, whatever order moto lists them in. Each kind carries several tags whose spec order (Nix's
// sorted keys, Name first for instances) is not the order EC2 and S3 list them in.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MachinePhysical, PhysicalView } from '../../../src/core/model.js';
import { clientKey } from '../../../src/cli/deps.js';
import { isMutating } from '../../support/aws-hooks.js';
import { reconixUnderTest as reconix } from '../../support/cli.js';
import { createTestHost, type TestHost } from '../../support/hosts.js';
import { bindToHosts, ec2Machine, useMoto, useWorld, view } from './helpers.js';

const R = 'eu-west-1';
const AMI = 'ami-12c6146b';
/** In Nix's order (bytes: upper case first); AWS tag lists come back in another. */
const TAGS = { Role: 'web', app: 'x', team: 'ops', zeta: 'z' };

const kinds: [string, PhysicalView['resources'], MachinePhysical[]][] = [
  ['ec2KeyPairs', { ec2KeyPairs: { kp: { region: R } } }, []],
  [
    'ec2SecurityGroups',
    {
      ec2SecurityGroups: { sg: { region: R, rules: [{ fromPort: 22, sourceIp: '0.0.0.0/0' }], tags: TAGS } },
    },
    [],
  ],
  ['ebsVolumes', { ebsVolumes: { v: { region: R, zone: `${R}a`, size: 1, tags: TAGS } } }, []],
  ['elasticIPs', { elasticIPs: { ip: { region: R, tags: TAGS } } }, []],
  [
    's3Buckets',
    { s3Buckets: { b: { region: R, name: 'reconix-noop-bucket', versioning: 'Enabled', tags: TAGS } } },
    [],
  ],
  ['ec2Instances', {}, [ec2Machine('web', { region: R, ami: AMI, instanceType: 't3.micro', tags: TAGS })]],
];

describe('a plan right after a deploy, against moto', function () {
  this.timeout(300_000);
  const moto = useMoto(this);
  const w = useWorld(this, moto);

  /** The reconciler's order: resources (and instance drift), then create the machines that are missing. */
  async function deploy(physical: PhysicalView): Promise<void> {
    const { facts } = await w.manager().reconcile(w.ctx(physical), true);
    for (const m of Object.values(physical.machines))
      await w.provider().create(m, w.targetCtx(m.name, facts));
  }

  for (const [kind, resources, machines] of kinds) {
    it(`plans nothing for ${kind} that were just deployed, and a second deploy calls nothing that changes AWS`, async () => {
      const physical = view(resources, machines);
      await deploy(physical);
      assert.ok(
        Object.keys(w.state.resources).length + Object.keys(w.state.machines).length > 0,
        'something was deployed',
      );
      // WHEN planning
      const plan = (await w.manager().reconcile(w.ctx(physical), false)).changes;
      // THEN nothing is to change
      assert.deepEqual(
        plan.filter((c) => c.action !== 'unchanged'),
        [],
      );
      // AND applying it makes no call that changes AWS
      w.counter.reset();
      await w.manager().reconcile(w.ctx(physical), true);
      assert.deepEqual(
        w.counter.calls.filter((c) => isMutating(c.command)).map((c) => c.command),
        [],
      );
    });
  }
});

describe('reconix plan right after reconix deploy, against moto', function () {
  this.timeout(300_000);
  const moto = useMoto(this, { resetEach: false });
  let dir: string;
  let host: TestHost | undefined;

  before(async function () {
    if (process.getuid?.() !== 0) this.skip();
    dir = await mkdtemp(join(tmpdir(), 'reconix-aws-noop-'));
    host = await createTestHost({ clientPublicKey: (await clientKey(join(dir, 'state'))).publicKey });
  });
  after(async () => {
    await host?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('exits 0 and shows no change for tagged resources and a tagged machine', async () => {
    const tags = `tags = { Role = "web"; app = "x"; team = "ops"; zeta = "z"; };`;
    await writeFile(
      join(dir, 'network.nix'),
      `{
  resources.ec2KeyPairs.kp = { region = "${R}"; };
  resources.ec2SecurityGroups.sg = { region = "${R}"; rules = [ { fromPort = 22; sourceIp = "0.0.0.0/0"; } ]; ${tags} };
  resources.ebsVolumes.v = { region = "${R}"; zone = "${R}a"; size = 1; ${tags} };
  resources.elasticIPs.ip = { region = "${R}"; ${tags} };
  resources.s3Buckets.b = { region = "${R}"; name = "reconix-noop-cli"; ${tags} };
  web = { resources, ... }: {
    deployment.targetEnv = "ec2";
    deployment.ec2 = {
      region = "${R}"; zone = "${R}a"; ami = "${AMI}"; instanceType = "t3.micro"; ${tags}
      keyPair = resources.ec2KeyPairs.kp;
      securityGroups = [ resources.ec2SecurityGroups.sg ];
      elasticIPv4 = resources.elasticIPs.ip;
      blockDeviceMapping."/dev/xvdf".disk = resources.ebsVolumes.v;
    };
    system.stateVersion = "24.05";
  };
}
`,
    );
    await writeFile(
      join(dir, 'reconix.yaml'),
      'apiVersion: reconix.dev/v1alpha1\nkind: NixDeployment\nmetadata: { name: noop }\nspec:\n  network: { files: [network.nix] }\n',
    );
    const env = await bindToHosts(dir, { web: host! }, moto().endpoint);
    const run = (...args: string[]) =>
      reconix(['--state-dir', join(dir, 'state'), '-f', join(dir, 'reconix.yaml'), ...args], env);
    try {
      const deploy = await run('deploy');
      assert.equal(deploy.code, 0, deploy.stdout + deploy.stderr);
      const plan = await run('plan');
      assert.doesNotMatch(plan.stdout, /will be (updated|replaced|created|destroyed)/, plan.stdout);
      assert.equal(plan.code, 0, plan.stdout + plan.stderr);
    } finally {
      const destroy = await run('destroy');
      assert.equal(destroy.code, 0, destroy.stdout + destroy.stderr);
    }
  });
});
