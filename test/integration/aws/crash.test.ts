// The kill test: SIGKILL the reconix process before and after each mutating AWS call of a deploy with machines and
// resources (before the call is sent, and after AWS made the object but before Reconix could record it), run it
// again, and check moto's own listings: no duplicates, no leaks, everything converged. Then the same for destroy.
// A clean run counts the calls, so that every one of them is a kill point; the test entry point
// (test/support/reconix-test-cli.ts) kills itself there and says so, which tells its SIGKILL from a hang.
import assert from 'node:assert/strict';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Instance } from '@aws-sdk/client-ec2';
import { clientKey } from '../../../src/cli/deps.js';
import { fromTagList, TAG_NAME } from '../../../src/providers/aws/tags.js';
import { listEverything } from '../../support/aws-listings.js';
import { reconixUnderTest, type CliRun } from '../../support/cli.js';
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

const WHEN = ['before', 'after'] as const;
type When = (typeof WHEN)[number];

const counts = (names: (string | undefined)[]) => {
  const out: Record<string, number> = {};
  for (const n of names) out[n ?? '(untagged)'] = (out[n ?? '(untagged)'] ?? 0) + 1;
  return out;
};

describe('crash safety: SIGKILL before and after every mutating AWS call, then rerun', function () {
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
    env = { ...MOTO_ENV, AWS_ENDPOINT_URL: moto().endpoint, TEST_CLI_ADDRESS_MAP: join(dir, 'map.json') };
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

  const cli = (
    stateDir: string,
    args: string[],
    o: { crashAt?: string; callLog?: string } = {},
  ): Promise<CliRun> =>
    reconixUnderTest(['--state-dir', stateDir, '-f', join(dir, 'reconix.yaml'), ...args], {
      ...env,
      ...(o.crashAt ? { TEST_CLI_CRASH_AT: o.crashAt } : {}),
      ...(o.callLog ? { TEST_CLI_CALL_LOG: o.callLog } : {}),
    });

  /** How many mutating AWS calls a clean run of `args` starts ("before" points) and sees succeed ("after"). */
  async function crashPoints(stateDir: string, args: string[]): Promise<Record<When, number>> {
    const log = join(dir, 'calls.log');
    await rm(log, { force: true });
    const clean = await cli(stateDir, args, { callLog: log });
    assert.equal(clean.code, 0, `the clean ${args.join(' ')} failed:\n${clean.stdout}${clean.stderr}`);
    const lines = (await readFile(log, 'utf8')).split('\n');
    const points = { before: 0, after: 0 };
    for (const w of WHEN) points[w] = lines.filter((l) => l.startsWith(`${w} `)).length;
    assert.ok(points.after <= points.before, JSON.stringify(points));
    return points;
  }

  /** The run died of the injected SIGKILL at `point`: not of a timeout, not at another call. */
  function assertKilledAt(run: CliRun, point: string): void {
    const out = `\n${run.stdout}${run.stderr}`;
    assert.equal(run.timedOut, false, `${point}: timed out instead${out}`);
    assert.equal(run.killedAt, point, `${point}: not killed there (a kill point never reached?)${out}`);
    assert.equal(
      run.signal,
      'SIGKILL',
      `${point}: ended with ${run.signal ?? `exit code ${run.code}`}${out}`,
    );
  }

  /** Past its last mutating call a run is not killed: it runs through. */
  function assertRanThrough(run: CliRun, point: string): void {
    const out = `\n${run.stdout}${run.stderr}`;
    assert.equal(
      run.killedAt,
      undefined,
      `${point}: killed, so a clean run makes more calls than it counted`,
    );
    assert.equal(run.code, 0, `${point}: the run failed${out}`);
  }

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

  it('converges with no duplicate and no leak whichever mutating AWS call the deploy is killed before or after', async () => {
    await moto().reset();
    const calls = await crashPoints(await freshState('d-clean'), ['deploy']);
    assert.ok(calls.after >= 10, `only ${JSON.stringify(calls)} mutating calls in a deploy`);
    for (const when of WHEN) {
      for (let n = Number(process.env.CRASH_FROM ?? 1); n <= calls[when] + 1; n++) {
        const point = `${when}:${n}`;
        await moto().reset();
        const stateDir = await freshState(`d-${when}-${n}`);
        const crashed = await cli(stateDir, ['deploy'], { crashAt: point });
        if (n > calls[when]) {
          assertRanThrough(crashed, point);
          break;
        }
        assertKilledAt(crashed, point);
        // Every other time, the recovery itself is killed at its first call that succeeds, if it makes one.
        if (n % 2 === 0) {
          const recovery = await cli(stateDir, ['deploy'], { crashAt: 'after:1' });
          if (recovery.killedAt) assertKilledAt(recovery, 'after:1');
          else assertRanThrough(recovery, `${point}, then after:1`);
        }
        const rerun = await cli(stateDir, ['deploy']);
        assert.equal(rerun.code, 0, `killed at ${point}, the rerun failed:\n${rerun.stdout}${rerun.stderr}`);
        await assertConverged(stateDir, `killed at ${point}`);
        await rm(stateDir, { recursive: true, force: true });
      }
    }
  });

  it('destroys everything whichever mutating AWS call the destroy is killed before or after', async () => {
    await moto().reset();
    const clean = await freshState('x-clean');
    assert.equal((await cli(clean, ['deploy'])).code, 0);
    const calls = await crashPoints(clean, ['destroy']);
    await assertNothingLeft('the clean destroy');
    assert.ok(calls.after >= 5, `only ${JSON.stringify(calls)} mutating calls in a destroy`);
    for (const when of WHEN) {
      for (let n = 1; n <= calls[when] + 1; n++) {
        const point = `${when}:${n}`;
        await moto().reset();
        const stateDir = await freshState(`x-${when}-${n}`);
        assert.equal((await cli(stateDir, ['deploy'])).code, 0);
        const crashed = await cli(stateDir, ['destroy'], { crashAt: point });
        if (n > calls[when]) {
          assertRanThrough(crashed, point);
          await assertNothingLeft(point);
          break;
        }
        assertKilledAt(crashed, point);
        const rerun = await cli(stateDir, ['destroy']);
        assert.equal(rerun.code, 0, `killed at ${point}:\n${rerun.stdout}${rerun.stderr}`);
        await assertNothingLeft(`killed at ${point}`);
        await rm(stateDir, { recursive: true, force: true });
      }
    }
  });

  async function assertNothingLeft(label: string): Promise<void> {
    const all = await listEverything(moto().clients(), [R, R2]);
    assert.deepEqual(
      [all.instances, all.keyPairs, all.groups, all.addresses, all.buckets],
      [[], [], [], [], []],
      label,
    );
    assert.deepEqual(
      all.volumes.filter((v) => v.State !== 'deleted'),
      [],
      `${label}: volumes`,
    );
  }
});
