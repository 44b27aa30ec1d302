// The kill test: SIGKILL the reconix process at every AWS call of a deploy with machines and resources (before
// the call is sent, or after AWS made the object but before Reconix could record it), run it again, and check
// moto's own listings: no duplicates, no leaks, everything converged. Then the same for destroy.
import assert from 'node:assert/strict';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Instance } from '@aws-sdk/client-ec2';
import { clientKey } from '../../../src/cli/deps.js';
import { fromTagList, TAG_NAME } from '../../../src/providers/aws/tags.js';
import { listEverything } from '../../support/aws-listings.js';
import { reconix, type CliRun } from '../../support/cli.js';
import { createTestHost, type TestHost } from '../../support/hosts.js';
import { MOTO_ENV } from '../../support/moto.js';
import { useMoto } from './helpers.js';

const R = 'eu-west-1';
const R2 = 'us-east-1';

const NETWORK = `{
  resources.ec2KeyPairs.kp = { region = "${R}"; };
  resources.ec2SecurityGroups.admin = { region = "${R}"; rules = [ { fromPort = 22; sourceIp = "10.0.0.0/8"; } ]; };
  resources.ec2SecurityGroups.web = { resources, ... }: {
    region = "${R}";
    rules = [
      { fromPort = 80; sourceIp = "0.0.0.0/0"; }
      { fromPort = 22; sourceGroup = resources.ec2SecurityGroups.admin; }
    ];
  };
  resources.ebsVolumes.data = { region = "${R}"; zone = "${R}a"; size = 2; };
  resources.elasticIPs.ip = { region = "${R}"; };
  resources.s3Buckets.files = {
    region = "${R}";
    name = "reconix-crash-files";
    versioning = "Enabled";
    policy = builtins.toJSON {
      Version = "2012-10-17";
      Statement = [ { Effect = "Allow"; Principal = "*"; Action = "s3:GetObject"; Resource = "arn:aws:s3:::reconix-crash-files/*"; } ];
    };
  };
  defaults = { system.stateVersion = "24.05"; deployment.targetEnv = "ec2"; };
  web = { resources, ... }: {
    deployment.ec2 = {
      region = "${R}";
      zone = "${R}a";
      ami = "ami-12c6146b";
      keyPair = resources.ec2KeyPairs.kp;
      securityGroups = [ resources.ec2SecurityGroups.web ];
      elasticIPv4 = resources.elasticIPs.ip;
      blockDeviceMapping."/dev/xvdf".disk = resources.ebsVolumes.data;
    };
  };
  db = { ... }: { deployment.ec2 = { region = "${R2}"; ami = "ami-12c6146b"; }; };
}
`;

const MANIFEST = `apiVersion: reconix.dev/v1alpha1
kind: NixDeployment
metadata: { name: crash }
spec:
  network: { files: [network.nix] }
`;

const counts = (names: (string | undefined)[]) => {
  const out: Record<string, number> = {};
  for (const n of names) out[n ?? '(untagged)'] = (out[n ?? '(untagged)'] ?? 0) + 1;
  return out;
};

describe('crash safety: SIGKILL at every AWS call, then rerun', function () {
  this.timeout(1_800_000);
  const moto = useMoto(this);
  let dir: string;
  let hosts: TestHost[] = [];
  let env: Record<string, string>;

  before(async function () {
    if (process.getuid?.() !== 0) this.skip();
    dir = await mkdtemp(join(tmpdir(), 'reconix-aws-crash-'));
    await writeFile(join(dir, 'network.nix'), NETWORK);
    await writeFile(join(dir, 'reconix.yaml'), MANIFEST);
    // One client key for every state directory of the test, so that the test hosts accept all of them.
    const key = await clientKey(join(dir, 'key'));
    hosts = [
      await createTestHost({ clientPublicKey: key.publicKey }),
      await createTestHost({ clientPublicKey: key.publicKey }),
    ];
    const map = Object.fromEntries(
      ['web', 'db'].map((m, i) => [
        m,
        { host: hosts[i]!.address, port: 22, user: 'root', hostPublicKey: hosts[i]!.hostKey },
      ]),
    );
    await writeFile(join(dir, 'map.json'), JSON.stringify(map));
    env = { ...MOTO_ENV, AWS_ENDPOINT_URL: moto().endpoint, RECONIX_TEST_ADDRESS_MAP: join(dir, 'map.json') };
  });

  after(async () => {
    for (const h of hosts) await h.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** A fresh state directory holding the shared client key. */
  async function freshState(n: string): Promise<string> {
    const stateDir = join(dir, `state-${n}`);
    await rm(stateDir, { recursive: true, force: true });
    await mkdir(stateDir, { recursive: true, mode: 0o700 });
    await cp(join(dir, 'key', 'keys'), join(stateDir, 'keys'), { recursive: true });
    return stateDir;
  }

  const cli = (stateDir: string, args: string[], crashAt?: string): Promise<CliRun> =>
    reconix(['--state-dir', stateDir, '-f', join(dir, 'reconix.yaml'), ...args], {
      ...env,
      ...(crashAt ? { RECONIX_CRASH_AT: crashAt } : {}),
    });

  /** Everything in moto, each exactly once, tagged, and nothing else. */
  async function assertConverged(stateDir: string, label: string): Promise<void> {
    const all = await listEverything(moto().clients(), [R, R2]);
    const names = (xs: Instance[]) => counts(xs.map((x) => fromTagList(x.Tags)[TAG_NAME]));
    assert.deepEqual(names(all.launched), { web: 1, db: 1 }, `${label}: one launch per machine, ever`);
    assert.deepEqual(names(all.instances), { web: 1, db: 1 }, `${label}: instances`);
    assert.deepEqual(all.keyPairs, [`${R}/reconix-crash-kp`], `${label}: key pairs`);
    assert.deepEqual(
      all.groups.sort(),
      [`${R}/reconix-crash-admin`, `${R}/reconix-crash-web`],
      `${label}: groups`,
    );
    assert.equal(all.addresses.length, 1, `${label}: addresses`);
    assert.deepEqual(all.buckets, ['reconix-crash-files'], `${label}: buckets`);
    const standalone = all.volumes.filter((v) => fromTagList(v.Tags)[TAG_NAME]?.startsWith('ebsVolumes.'));
    assert.equal(standalone.length, 1, `${label}: volumes`);
    const web = all.instances.find((i) => fromTagList(i.Tags)[TAG_NAME] === 'web')!;
    assert.ok(
      web.BlockDeviceMappings?.some((b) => b.Ebs?.VolumeId === standalone[0]?.VolumeId),
      `${label}: volume attached`,
    );
    assert.ok(all.addresses[0]?.endsWith(`/${web.PublicIpAddress}`), `${label}: address associated`);
    const plan = await cli(stateDir, ['plan']);
    assert.equal(plan.code, 0, `${label}: converged, but plan says:\n${plan.stdout}${plan.stderr}`);
    for (const h of hosts) assert.ok(await h.currentSystem(), `${label}: ${h.address} runs a system`);
    const secrets = await readdir(join(stateDir, 'secrets'), { recursive: true });
    assert.deepEqual(
      secrets.filter((f) => String(f).includes('host-key')),
      [],
      `${label}: host keys are not kept (${JSON.stringify(JSON.parse(await readFile(join(stateDir, 'deployments/crash.json'), 'utf8')).machines)})`,
    );
  }

  it('converges with no duplicate and no leak whichever AWS call the deploy is killed at', async () => {
    const points: string[] = [];
    for (let n = Number(process.env.CRASH_FROM ?? 1); ; n++) {
      const when = n % 3 === 0 ? 'before' : 'after';
      await moto().reset();
      const stateDir = await freshState(`d${n}`);
      const crashed = await cli(stateDir, ['deploy'], `${when}:${n}`);
      if (crashed.signal !== 'SIGKILL') {
        // Past the last AWS call of a deploy: it ran through.
        assert.equal(crashed.code, 0, crashed.stdout + crashed.stderr);
        break;
      }
      points.push(`${when}:${n}`);
      // Every other time, the recovery itself is killed at its first call.
      if (n % 2 === 0) assert.equal((await cli(stateDir, ['deploy'], 'after:1')).signal, 'SIGKILL');
      const rerun = await cli(stateDir, ['deploy']);
      assert.equal(
        rerun.code,
        0,
        `killed at ${when}:${n}, the rerun failed:\n${rerun.stdout}${rerun.stderr}`,
      );
      await assertConverged(stateDir, `killed at ${when}:${n}`);
      await rm(stateDir, { recursive: true, force: true });
    }
    assert.ok(points.length >= 10, `only ${points.length} crash points: ${points.join(' ')}`);
  });

  it('destroys everything whichever AWS call the destroy is killed at', async () => {
    let points = 0;
    for (let n = 1; ; n++) {
      await moto().reset();
      const stateDir = await freshState(`x${n}`);
      assert.equal((await cli(stateDir, ['deploy'])).code, 0);
      const crashed = await cli(stateDir, ['destroy'], `after:${n}`);
      if (crashed.signal !== 'SIGKILL') break;
      points++;
      const rerun = await cli(stateDir, ['destroy']);
      assert.equal(rerun.code, 0, `killed at after:${n}:\n${rerun.stdout}${rerun.stderr}`);
      const all = await listEverything(moto().clients(), [R, R2]);
      assert.deepEqual(
        [all.instances, all.keyPairs, all.groups, all.addresses, all.buckets],
        [[], [], [], [], []],
        `killed at after:${n}`,
      );
      assert.deepEqual(
        all.volumes.filter((v) => v.State !== 'deleted'),
        [],
        `killed at after:${n}: volumes`,
      );
      await rm(stateDir, { recursive: true, force: true });
    }
    assert.ok(points >= 5, `only ${points} crash points`);
  });
});
