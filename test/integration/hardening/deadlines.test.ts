// Deadlines of the Nix and SSH work: an evaluation that never ends fails its deployment with EvaluationTimeout and
// the other deployment goes on; a host that stops reading in the middle of a copy fails that machine alone with
// CopyTimeout, in bounded time, while the other machine is activated.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../../src/util/exec.js';
import { clientKey } from '../../../src/cli/deps.js';
import { reconix } from '../../support/cli.js';
import { createTestHost, type TestHost } from '../../support/hosts.js';
import { eventually } from '../../support/workspace.js';

const manifest = (name: string, file: string) =>
  `apiVersion: reconix.dev/v1alpha1\nkind: NixDeployment\nmetadata: { name: ${name} }\n` +
  `spec:\n  network: { files: [${file}] }\n`;

/** The PID of `nix-store --serve` among the host's sshd's descendants, if one runs. */
async function serveProcess(host: TestHost): Promise<number | undefined> {
  const queue = [host.pid!];
  while (queue.length > 0) {
    const pid = queue.shift()!;
    const children = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => '');
    for (const c of children.split(' ').filter(Boolean).map(Number)) {
      const argv = (await readFile(`/proc/${c}/cmdline`, 'utf8').catch(() => '')).split('\0');
      if (argv[0]?.endsWith('nix-store') && argv[1] === '--serve') return c;
      queue.push(c);
    }
  }
  return undefined;
}

async function bytesRead(pid: number): Promise<number> {
  const io = await readFile(`/proc/${pid}/io`, 'utf8').catch(() => '');
  return Number(/^rchar: ([0-9]+)$/m.exec(io)?.[1] ?? 0);
}

describe('deadlines of evaluation, builds and copies', function () {
  this.timeout(300_000);
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'reconix-deadlines-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('fails an evaluation that hangs with EvaluationTimeout, and the other deployment goes on', async () => {
    // GIVEN a network that reads a FIFO nobody ever writes: nix-instantiate blocks without end
    await run('mkfifo', [join(dir, 'pipe')]);
    await writeFile(join(dir, 'hang.nix'), '{ network.description = builtins.readFile ./pipe; }');
    await writeFile(join(dir, 'fine.nix'), '{ network.description = "fine"; }');
    await writeFile(
      join(dir, 'reconix.yaml'),
      `${manifest('hung', 'hang.nix')}---\n${manifest('fine', 'fine.nix')}`,
    );
    const started = Date.now();
    const r = await reconix(
      [
        '--state-dir',
        join(dir, 'state'),
        '-f',
        join(dir, 'reconix.yaml'),
        '--evaluation-timeout',
        '3s',
        'deploy',
      ],
      {},
      60_000,
    );
    assert.ok(!r.timedOut && Date.now() - started < 30_000, 'the deploy ended in bounded time');
    assert.notEqual(r.code, 0);
    assert.match(
      r.stdout,
      /Deployment hung:\nFailed \(EvaluationTimeout\).*did not finish within 3 s \(--evaluation-timeout\)/,
    );
    assert.match(r.stdout, /Deployment fine:\nDone/);
  });

  it('fails a build that runs past --build-timeout with BuildTimeout, and leaves no builder behind', async () => {
    // GIVEN a machine whose system needs a derivation that builds for 60 s, new to this store (a tag of its own)
    const tag = `slow-${process.pid}-${randomBytes(4).toString('hex')}`;
    // A duration of its own, so that its sleep can be told from any other process.
    const pause = `60.${randomBytes(3).readUIntBE(0, 3)}`;
    await writeFile(
      join(dir, 'slow.nix'),
      `{ network.description = "slow";
  slow = { ... }: {
    deployment.targetEnv = "local";
    environment.systemPackages = [ (derivation {
      name = "${tag}"; system = builtins.currentSystem; builder = "/bin/sh";
      args = [ "-c" "/bin/sleep ${pause}; echo ${tag} > $out" ];
    }) ];
  };
}
`,
    );
    await writeFile(join(dir, 'reconix.yaml'), manifest('slow', 'slow.nix'));
    const started = Date.now();
    // WHEN only its build is asked for, with a deadline of 3 s
    const r = await reconix(
      [
        '--state-dir',
        join(dir, 'state'),
        '-f',
        join(dir, 'reconix.yaml'),
        '--build-timeout',
        '3s',
        'deploy',
        '--build-only',
      ],
      {},
      60_000,
    );
    // THEN the build is stopped at its deadline and said to be
    assert.ok(!r.timedOut && Date.now() - started < 40_000, 'the deploy ended in bounded time');
    assert.notEqual(r.code, 0, r.stdout);
    assert.match(r.stdout, /BuildTimeout/, r.stdout);
    assert.match(r.stdout, /did not finish within 3 s \(--build-timeout\)/, r.stdout);
    // AND no process of that build is left running
    await eventually(
      'the builder to be gone',
      async () => {
        const { stdout } = await run('ps', ['-eo', 'args']);
        return !stdout.includes(tag) && !stdout.includes(pause);
      },
      15_000,
    );
  });

  describe('with two hosts', () => {
    let hosts: TestHost[] = [];
    let stopped: number | undefined;

    afterEach(async () => {
      if (stopped) process.kill(stopped, 'SIGCONT');
      stopped = undefined;
      for (const h of hosts) await h.destroy();
      hosts = [];
    });

    it('fails the copy to a host that stops reading with CopyTimeout, and activates the other', async function () {
      if (process.getuid?.() !== 0) this.skip();
      const stateDir = join(dir, 'state');
      const key = await clientKey(stateDir);
      const [quick, stalling] = [
        await createTestHost({ clientPublicKey: key.publicKey }),
        await createTestHost({ clientPublicKey: key.publicKey }),
      ];
      hosts = [quick!, stalling!];
      // The stalling host's system carries 96 MiB, far more than the pipes and SSH windows on the way can hold.
      await writeFile(join(dir, 'big'), randomBytes(96 << 20));
      const machine = (name: string, h: TestHost, extra = '') =>
        `${name} = { deployment.targetEnv = "none"; deployment.targetHost = "${h.address}"; ` +
        `deployment.hostPublicKey = "${h.hostKey}"; ${extra} };`;
      await writeFile(
        join(dir, 'network.nix'),
        `{ ${machine('quick', quick!)} ${machine('stalling', stalling!, 'environment.etc.big.source = ./big;')} }`,
      );
      await writeFile(join(dir, 'reconix.yaml'), manifest('copies', 'network.nix'));

      const started = Date.now();
      const deploy = reconix(
        ['--state-dir', stateDir, '-f', join(dir, 'reconix.yaml'), '--copy-timeout', '5s', 'deploy'],
        {},
        180_000,
      );
      // WHEN the stalling host's nix-store stops (by its PID) once the copy of its closure is under way
      let finished: string | undefined;
      void deploy.then((r) => (finished = r.stdout + r.stderr));
      const serve = await eventually(
        'the copy to start',
        async () => {
          if (finished !== undefined) throw new Error(`the deploy ended before the copy: ${finished}`);
          return serveProcess(stalling!);
        },
        120_000,
        2,
      );
      await eventually(
        'the first bytes of the closure to arrive',
        async () => (await bytesRead(serve)) > 256 << 10,
        60_000,
        1,
      );
      process.kill(serve, 'SIGSTOP');
      stopped = serve;
      const stoppedAt = Date.now();
      const r = await deploy;

      // THEN that machine fails with CopyTimeout within the deadline, and the other runs its new system
      assert.ok(Date.now() - stoppedAt < 60_000, `the deploy took ${Date.now() - started} ms`);
      assert.notEqual(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /stalling.*CopyTimeout|CopyTimeout.*stalling/s, r.stdout);
      assert.match(r.stdout, /did not finish within 5 s \(--copy-timeout\)/);
      assert.ok(await quick!.currentSystem(), 'the quick host was activated');
      assert.equal(await stalling!.currentSystem(), undefined);
    });
  });
});
