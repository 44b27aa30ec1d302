// NixOps' remaining commands, run as the built reconix command on a real local host, with the manifests laid
// out as a GitOps repository: a folder per deployment, one folder that git ignores.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, runProcess, type ExecResult } from '../../../src/util/exec.js';
import { shellJoin } from '../../../src/util/shell.js';
import { REPO_ROOT } from '../../support/workspace.js';

describe('the NixOps commands of reconix on a real host', function () {
  this.timeout(300_000);
  let dir: string;
  let repo: string;
  const stateDir = () => join(dir, 'state');
  const cli = (args: string[], o: { state?: string; input?: string } = {}): Promise<ExecResult> =>
    runProcess(process.execPath, [join(REPO_ROOT, 'dist/src/cli/bin.js'), '-f', repo, ...args], {
      env: { ...process.env, RECONIX_STATE_DIR: o.state ?? stateDir() },
      timeoutMs: 240_000,
      ...(o.input !== undefined ? { input: o.input } : {}),
    });
  const ok = (r: ExecResult) => assert.equal(r.exitCode, 0, r.stdout + r.stderr);

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'reconix-nixops-'));
    repo = join(dir, 'repo');
    const example = (f: string) => f.endsWith('.nix') || f.endsWith('local.yaml') || !f.includes('.');
    await cp(join(REPO_ROOT, 'examples/trivial'), join(repo, 'clusters/lab/trivial'), {
      recursive: true,
      filter: example,
    });
    const manifest = join(repo, 'clusters/lab/trivial/local.yaml');
    await writeFile(manifest, `# the lab's one machine\n${await readFile(manifest, 'utf8')}`);
    await cp(join(REPO_ROOT, 'examples/trivial'), join(repo, 'scratch/copy'), {
      recursive: true,
      filter: example,
    });
    const copy = join(repo, 'scratch/copy/local.yaml');
    await writeFile(copy, (await readFile(copy, 'utf8')).replace('trivial-local', 'ignored-local'));
    await writeFile(join(repo, '.gitignore'), 'scratch/\n');
    await run('git', ['-C', repo, 'init', '-q']);
  });
  after(async () => {
    await cli(['destroy']);
    await rm(dir, { recursive: true, force: true });
  });

  it('finds the deployment two folders deep and not the one in the folder git ignores', async () => {
    const r = await cli(['show-physical', '--json']);
    ok(r);
    const view = JSON.parse(r.stdout) as {
      deployment: string;
      machines: Record<string, { targetEnv: string }>;
    };
    assert.equal(view.deployment, 'trivial-local');
    assert.equal(view.machines.machine?.targetEnv, 'local');
    assert.doesNotMatch(r.stdout + r.stderr, /ignored-local/);
  });

  it('says what it searched when -f names a directory without a manifest', async () => {
    const empty = join(dir, 'empty');
    await cp(join(REPO_ROOT, 'examples/trivial/network.nix'), join(empty, 'network.nix'));
    const r = await runProcess(
      process.execPath,
      [join(REPO_ROOT, 'dist/src/cli/bin.js'), '-f', empty, 'plan'],
      {
        env: { ...process.env, RECONIX_STATE_DIR: stateDir() },
      },
    );
    assert.equal(r.exitCode, 2);
    assert.equal(
      r.stderr,
      `error: no NixDeployment manifests found under ${empty} (searched 1 files to depth 4)\n`,
    );
  });

  it('set-args edits spec.network.args of the manifest in place, and show-arguments shows them', async () => {
    const manifest = join(repo, 'clusters/lab/trivial/local.yaml');
    const set = await cli(['set-args', '--arg', 'domain', 'lab.example.org', '--arg', 'owner', 'ops team']);
    ok(set);
    assert.match(set.stdout, /edited spec\.network\.args of trivial-local in .*local\.yaml/);
    const text = await readFile(manifest, 'utf8');
    assert.match(text, /^# the lab's one machine\n/);
    assert.match(text, /args:\n\s+domain: lab\.example\.org\n\s+owner: ops team\n/);
    assert.match(text, /interval: 1m/);
    ok(await cli(['set-args', '--unset', 'owner']));
    const shown = await cli(['show-arguments', '--json']);
    ok(shown);
    assert.deepEqual(JSON.parse(shown.stdout), { domain: 'lab.example.org' });
    assert.equal((await cli(['show-arguments'])).stdout, 'domain = "lab.example.org"\n');
  });

  it('deploys, then shows options, system paths and copies files with scp to and from the machine', async () => {
    const deployed = await cli(['-v', '--log-format', 'text', 'deploy']);
    ok(deployed);
    assert.match(
      deployed.stderr,
      /^\S+ INFO {2}target created deployment=trivial-local machine=machine stage=provision env=local$/m,
    );
    const hostName = await cli(['show-option', 'machine', 'networking.hostName']);
    ok(hostName);
    assert.equal(JSON.parse(hostName.stdout), 'machine');
    assert.equal(JSON.parse((await cli(['show-option', 'machine', 'deployment.targetEnv'])).stdout), 'local');
    const secret = await cli(['show-option', 'machine', 'deployment.keys']);
    assert.notEqual(secret.exitCode, 0);
    assert.match(secret.stderr, /holds secrets/);

    const paths = await cli(['dump-nix-paths']);
    ok(paths);
    const state = JSON.parse(await readFile(join(stateDir(), 'deployments/trivial-local.json'), 'utf8')) as {
      machines: Record<string, { activated?: { system: string } }>;
    };
    assert.deepEqual(paths.stdout.trim().split('\n'), [state.machines.machine?.activated?.system]);

    const local = join(dir, 'greeting.txt');
    await writeFile(local, 'copied by scp\n');
    ok(await cli(['scp', 'machine', local, '/root/greeting.txt']));
    ok(await cli(['scp', '--from', 'machine', '/root/greeting.txt', join(dir, 'back.txt')]));
    assert.equal(await readFile(join(dir, 'back.txt'), 'utf8'), 'copied by scp\n');
  });

  it('lists the deployment, exports it and imports it elsewhere, refusing to overwrite without --force', async () => {
    const listed = await cli(['list', '--json']);
    ok(listed);
    const [entry] = JSON.parse(listed.stdout) as {
      name: string;
      machines: string[];
      lastOutcome?: { ok: boolean };
    }[];
    assert.equal(entry?.name, 'trivial-local');
    assert.deepEqual(entry?.machines, ['machine']);
    assert.equal(entry?.lastOutcome?.ok, true);
    assert.match(
      (await cli(['list'])).stdout,
      /^NAME\s+MACHINES\s+LAST OUTCOME\s+AT\ntrivial-local\s+1\s+ok\s+\d{4}-/,
    );

    const exported = await cli(['export']);
    ok(exported);
    const other = join(dir, 'other-state');
    ok(await cli(['import'], { state: other, input: exported.stdout }));
    const again = await cli(['import'], { state: other, input: exported.stdout });
    assert.notEqual(again.exitCode, 0);
    assert.match(again.stderr, /trivial-local already recorded .*without --force/);
    ok(await cli(['import', '--force'], { state: other, input: exported.stdout }));
    assert.deepEqual(
      JSON.parse((await cli(['export', '--all'], { state: other })).stdout),
      JSON.parse(exported.stdout),
    );
    // The copy still records the host: delete refuses it, --force forgets it with a warning.
    const refused = await cli(['delete'], { state: other });
    assert.equal(refused.exitCode, 1);
    assert.match(refused.stderr, /still has host machine \(local\): destroy it first/);
    const forced = await cli(['delete', '--force'], { state: other });
    ok(forced);
    assert.match(forced.stderr, /warning: trivial-local is forgotten with host machine \(local\) left/);
    assert.equal((await cli(['list', '--json'], { state: other })).stdout.trim(), '[]');
  });

  it('unlock refuses a lock whose process is alive, asks y/N on a terminal before removing a stale one, or takes --yes', async () => {
    const lock = join(stateDir(), 'deployments/trivial-local.lock');
    const info = (pid: number) =>
      JSON.stringify({ pid, host: hostname(), since: '2026-01-01T00:00:00Z', purpose: 'reconix deploy' });
    await writeFile(lock, info(process.pid));
    const alive = await cli(['unlock', '--yes']);
    assert.equal(alive.exitCode, 1);
    assert.match(alive.stderr, new RegExp(`locked by pid ${process.pid} .* still running: not unlocked`));

    const gone = spawn('true');
    await new Promise((resolve) => gone.once('exit', resolve));
    await writeFile(lock, info(gone.pid!));
    const unconfirmed = await cli(['unlock']);
    assert.equal(unconfirmed.exitCode, 1);
    assert.match(unconfirmed.stderr, /confirm with --yes/);
    // On a terminal (script(1) gives it one) it asks, and only "y" removes the lock.
    const onTerminal = (answer: string) =>
      runProcess(
        'script',
        [
          '-qec',
          shellJoin([process.execPath, join(REPO_ROOT, 'dist/src/cli/bin.js'), '-f', repo, 'unlock']),
          '/dev/null',
        ],
        {
          env: { ...process.env, RECONIX_STATE_DIR: stateDir() },
          input: answer,
          timeoutMs: 60_000,
        },
      );
    const no = await onTerminal('n\n');
    assert.match(no.stdout, /Remove the lock\? \[y\/N\][\s\S]*trivial-local: left locked/);
    assert.match(await readFile(lock, 'utf8'), /reconix deploy/);
    const yes = await onTerminal('y\n');
    assert.match(yes.stdout, /trivial-local: removed the lock of pid/);
    await writeFile(lock, info(gone.pid!));
    const removed = await cli(['unlock', '--yes']);
    ok(removed);
    assert.match(removed.stdout, new RegExp(`trivial-local: removed the lock of pid ${gone.pid}`));
    assert.equal((await cli(['unlock'])).stdout, 'trivial-local: not locked\n');
  });

  it('delete refuses a deployment with a host left, and forgets one with nothing left', async () => {
    const refused = await cli(['delete']);
    assert.equal(refused.exitCode, 1);
    assert.match(refused.stderr, /still has host machine/);
    const empty = { version: 1, name: 'emptied', machines: { gone: { targetEnv: 'none' } }, resources: {} };
    ok(await cli(['import'], { input: JSON.stringify({ emptied: empty }) }));
    const deleted = await cli(['-d', 'emptied', 'delete']);
    ok(deleted);
    assert.equal(deleted.stdout, 'deleted emptied\n');
    const names = (JSON.parse((await cli(['list', '--json'])).stdout) as { name: string }[]).map(
      (d) => d.name,
    );
    assert.deepEqual(names, ['trivial-local']);
  });
});
