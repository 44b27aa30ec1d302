// The reconix command itself: exit codes, JSON output and readable errors.
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runProcess, type ExecResult } from '../../../src/util/exec.js';
import { REPO_ROOT } from '../../support/workspace.js';

describe('the reconix command', function () {
  this.timeout(120_000);
  let dir: string;
  const cli = (...args: string[]): Promise<ExecResult> =>
    runProcess(
      process.execPath,
      [join(REPO_ROOT, 'dist/src/cli/bin.js'), '-f', join(dir, 'local.yaml'), ...args],
      {
        env: { ...process.env, RECONIX_STATE_DIR: join(dir, '.state') },
      },
    );

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'reconix-cli-'));
    await cp(join(REPO_ROOT, 'examples/trivial'), dir, { recursive: true });
  });
  after(async () => {
    await cli('destroy');
    await rm(dir, { recursive: true, force: true });
  });

  it('--help, of the command and of each subcommand, says nothing of tests', async () => {
    const top = await cli('--help');
    assert.equal(top.exitCode, 0, top.stderr);
    const commands = [...top.stdout.matchAll(/^ {2}([a-z-]+) /gm)].map((m) => m[1]!);
    assert.ok(commands.includes('deploy') && commands.includes('controller'), top.stdout);
    for (const command of commands) {
      const help = command === 'help' ? top : await cli(command, '--help');
      for (const text of [top.stdout, help.stdout]) {
        for (const word of ['test-address-map', 'RECONIX_CRASH_AT', 'TEST']) {
          assert.ok(!text.includes(word), `reconix ${command} --help mentions ${word}:\n${text}`);
        }
      }
    }
  });

  it('plan exits 1 when there are changes and prints what they are', async () => {
    const r = await cli('plan');
    assert.equal(r.exitCode, 1, r.stderr);
    assert.match(r.stdout, /\+ machine\s+local\s+create local host/);
    assert.match(r.stdout, /Plan: 1 to create/);
  });

  it('refuses two stages to stop after, naming both', async () => {
    const r = await cli('deploy', '--build-only', '--copy-only');
    assert.notEqual(r.exitCode, 0);
    assert.match(r.stderr, /--build-only.*cannot be used with.*--copy-only/);
  });

  it('deploy exits 0 and says what it did', async () => {
    const r = await cli('deploy');
    assert.equal(r.exitCode, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /machine\s+created, activated .*nixos-system-machine/);
  });

  it('plan exits 0 when nothing changes, and prints data with --json', async () => {
    const r = await cli('plan', '--json');
    assert.equal(r.exitCode, 0, r.stderr);
    const plan = JSON.parse(r.stdout) as {
      actions: unknown[];
      machines: { machine: string; verdict: string }[];
    };
    assert.deepEqual(plan.actions, []);
    assert.deepEqual(
      plan.machines.map((m) => [m.machine, m.verdict]),
      [['machine', 'up-to-date']],
    );
  });

  it('keeps its evaluations in the state dir, and --no-eval-cache leaves them as they are', async () => {
    const cacheFile = join(dir, '.state', 'eval-cache', 'trivial-local.json');
    const cached = await readFile(cacheFile, 'utf8');
    const network = await readFile(join(dir, 'network.nix'), 'utf8');
    try {
      // A comment changes the source tree, hence the key, but not the system.
      await writeFile(join(dir, 'network.nix'), `# edited\n${network}`);
      const uncached = await cli('--no-eval-cache', 'plan');
      assert.equal(uncached.exitCode, 0, uncached.stderr);
      assert.equal(await readFile(cacheFile, 'utf8'), cached);
      const planned = await cli('plan');
      assert.equal(planned.exitCode, 0, planned.stderr);
      assert.notEqual(await readFile(cacheFile, 'utf8'), cached);
    } finally {
      await writeFile(join(dir, 'network.nix'), network);
    }
  });

  it('ssh runs a command on a machine, words as given, and passes its exit code on', async () => {
    const r = await cli('ssh', 'machine', '--', 'printf', '%s|', 'a b', "it's; echo not run");
    assert.equal(r.exitCode, 0, r.stderr);
    assert.equal(r.stdout, "a b|it's; echo not run|");
    const motd = await cli('ssh', 'machine', '--', 'cat', '/run/current-system/etc/motd');
    assert.match(motd.stdout, /Welcome to machine, deployed by Reconix/);
    assert.equal((await cli('ssh', 'machine', '--', 'sh', '-c', 'exit 7')).exitCode, 7);
  });

  it('exec runs a command on every machine, each line after its name, and fails if one fails', async () => {
    const ok = await cli('exec', '--', 'cat', '/run/current-system/etc/motd');
    assert.equal(ok.exitCode, 0, ok.stderr);
    assert.match(ok.stdout, /^machine \| Welcome to machine, deployed by Reconix\.$/m);
    const bad = await cli('exec', '--', 'sh', '-c', 'echo out; echo err >&2; exit 3');
    assert.equal(bad.exitCode, 1);
    assert.match(bad.stdout, /^machine \| out$/m);
    assert.match(bad.stderr, /^machine \| err$/m);
    assert.match(bad.stderr, /^machine: exit code 3$/m);
  });

  it('ssh trusts only the pinned host key', async () => {
    const file = join(dir, '.state', 'deployments', 'trivial-local.json');
    const saved = await readFile(file, 'utf8');
    const state = JSON.parse(saved) as { machines: { machine: { hostKey?: string } } };
    assert.match(state.machines.machine.hostKey ?? '', /^ssh-ed25519 /);
    // Another valid key, pinned in place of the host's own.
    state.machines.machine.hostKey =
      'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBHqmzDrMlc8xmFEDHbUdJPkpm0Qw3oqvVSu3o6c1P4K';
    await writeFile(file, JSON.stringify(state));
    try {
      const r = await cli('ssh', 'machine', '--', 'true');
      assert.equal(r.exitCode, 255);
      assert.match(r.stderr, /Host key verification failed/);
    } finally {
      await writeFile(file, saved);
    }
    assert.equal((await cli('ssh', 'machine', '--', 'true')).exitCode, 0);
  });

  it('check exits 0 for a healthy machine and info prints a table', async () => {
    const check = await cli('check');
    assert.equal(check.exitCode, 0, check.stdout);
    const info = await cli('info');
    assert.match(info.stdout, /MACHINE\s+TARGET\s+ADDRESS\s+ACTIVATED SYSTEM/);
    assert.match(
      info.stdout,
      /machine\s+local\s+127\.77\.\d+\.\d+\s+\S+-nixos-system-machine\S*\s+1\s+in sync/,
    );
  });

  it('exits 2 with the Nix message, file and line, on a broken network file', async () => {
    const file = join(dir, 'network.nix');
    const good = await readFile(file, 'utf8');
    await writeFile(file, good.replace('machine =', 'machine = = '));
    try {
      const r = await cli('deploy');
      assert.equal(r.exitCode, 2);
      assert.match(r.stdout, /EvaluationFailed/);
      assert.match(r.stdout, /network\.nix:\d+/);
      const plan = await cli('plan');
      assert.equal(plan.exitCode, 2);
    } finally {
      await writeFile(file, good);
    }
  });

  it('names the file and field of an invalid manifest', async () => {
    const file = join(dir, 'local.yaml');
    const good = await readFile(file, 'utf8');
    await writeFile(file, good.replace('interval: 1m', 'interval: soon'));
    try {
      const r = await cli('plan');
      assert.equal(r.exitCode, 2);
      assert.match(r.stderr, /local\.yaml.*spec\.interval/);
    } finally {
      await writeFile(file, good);
    }
  });
});
