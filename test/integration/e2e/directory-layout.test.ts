// `reconix controller --dir` as a process on a GitOps repository: it says when the repository holds no manifest,
// finds a deployment added two folders deep, reconciles it on a real local host, reloads on an edit in that
// folder over the host's connection it kept, and logs readable text lines with the deployment's name.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, runProcess } from '../../../src/util/exec.js';
import { eventually, REPO_ROOT } from '../../support/workspace.js';

const BIN = join(REPO_ROOT, 'dist/src/cli/bin.js');

describe('the directory controller on a GitOps repository', function () {
  this.timeout(300_000);
  let dir: string;
  let repo: string;
  let controller: ChildProcess | undefined;
  let stderr = '';
  let listen = '';
  const stateDir = () => join(dir, 'state');
  const lines = (re: RegExp) => stderr.split('\n').filter((l) => re.test(l));

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'reconix-layout-'));
    repo = join(dir, 'repo');
    await run('git', ['init', '-q', repo]);
    await writeFile(join(repo, 'README.md'), 'deployments live under clusters/\n');
  });
  after(async () => {
    if (controller && controller.exitCode === null) {
      const exited = new Promise((resolve) => controller!.once('exit', resolve));
      controller.kill('SIGTERM');
      await exited;
    }
    await runProcess(process.execPath, [BIN, '-f', repo, 'destroy'], {
      env: { ...process.env, RECONIX_STATE_DIR: stateDir() },
      timeoutMs: 120_000,
    });
    await rm(dir, { recursive: true, force: true });
  });

  it('says that the repository holds no manifest, in its log and /readyz', async () => {
    controller = spawn(
      process.execPath,
      [
        BIN,
        '--state-dir',
        stateDir(),
        '--log-format',
        'text',
        'controller',
        '--dir',
        repo,
        '--listen',
        '127.0.0.1:0',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    controller.stderr!.setEncoding('utf8');
    controller.stderr!.on('data', (s: string) => (stderr += s));
    listen = await eventually(
      'the listen address',
      async () => stderr.match(/listen=(127\.0\.0\.1:\d+)/)?.[1],
    );
    const message = `no NixDeployment manifests found under ${repo} (searched 1 files to depth 4)`;
    await eventually('the warning', async () => lines(/ WARN {2}no NixDeployment manifests/).length > 0);
    assert.match(lines(/ WARN /)[0]!, new RegExp(`^\\S+ WARN {2}${message.replace(/[()]/g, '\\$&')} dir=`));
    const ready = await fetch(`http://${listen}/readyz`);
    assert.equal(ready.status, 503);
    assert.match(await ready.text(), new RegExp(message.replace(/[()]/g, '\\$&')));
  });

  it('reconciles a deployment added two folders deep, and again after an edit in its folder', async () => {
    const folder = join(repo, 'clusters/lab/trivial');
    await cp(join(REPO_ROOT, 'examples/trivial'), folder, {
      recursive: true,
      filter: (f) => !f.endsWith('none.yaml') && !f.endsWith('physical-none.nix'),
    });
    await eventually(
      'the first reconcile',
      async () => lines(/ INFO {2}reconciled deployment=trivial-local /).length === 1,
      240_000,
      250,
    );
    assert.ok(
      lines(/ INFO {2}target created deployment=trivial-local machine=machine (stage=\S+ )?env=local/)
        .length === 1,
      stderr,
    );
    assert.match(lines(/reconciled deployment=/)[0]!, /manifest=clusters\/lab\/trivial\/local\.yaml/);
    const statePath = join(stateDir(), 'deployments/trivial-local.json');
    const system = async () =>
      (
        JSON.parse(await readFile(statePath, 'utf8')) as {
          machines: { machine: { activated: { system: string } } };
        }
      ).machines.machine.activated.system;
    const first = await system();

    const network = join(folder, 'network.nix');
    await writeFile(network, (await readFile(network, 'utf8')).replace('Welcome to', 'Hello from'));
    await eventually(
      'the reconcile of the edit',
      async () => lines(/ INFO {2}reconciled deployment=trivial-local /).length === 2,
      240_000,
      250,
    );
    assert.notEqual(await system(), first);
    assert.deepEqual(lines(/^\{/), [], 'text logs only');

    // The host's connection was kept from the first reconcile for the second (--keep-connections, 15m).
    const metrics = await (await fetch(`http://${listen}/metrics`)).text();
    const value = (name: string) => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(metrics)?.[1] ?? NaN);
    assert.equal(value('reconix_ssh_connections_kept'), 1, metrics);
    assert.ok(value('reconix_ssh_connections_reused_total') >= 1, metrics);
    assert.ok(value('reconix_ssh_connections_opened_total') >= 1, metrics);
    // One machine, evaluated once for the first reconcile and once for the edit.
    assert.match(
      metrics,
      /^reconix_system_evaluations_total\{deployment="trivial-local",result="evaluated"\} 2$/m,
    );
  });
});
