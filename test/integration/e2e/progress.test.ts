// What deploy shows while it runs, on real local hosts: the live lines in a real terminal (tmux, its screen
// captured while the deploy runs), the timestamped stage lines of a piped run with -v's activation output, and the
// --json events checked against their schema.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { ProgressEvent } from '../../../src/core/progress.js';
import { run } from '../../../src/util/exec.js';
import { CLI, reconix } from '../../support/cli.js';
import { assertConforms, assertEvent } from '../../support/schemas.js';
import { eventually, makeWorkspace, type Workspace } from '../../support/workspace.js';

const MACHINES = ['backend1', 'backend2', 'proxy'];
const STAGES = ['evaluating', 'building', 'copying', 'activating', 'confirming', 'done'];
const STAGE = new RegExp(`^(\\S+)\\s+(${STAGES.join('|')})\\b`);

describe('the progress deploy shows', function () {
  this.timeout(300_000);
  let ws: Workspace;
  let network: string;

  before(async () => {
    ws = await makeWorkspace('apache');
    network = await ws.read('network.nix');
  });
  after(async () => {
    await ws?.dispose();
  });

  /** A change to every machine, so that each deploy builds, copies and activates all three anew. */
  async function changeEveryMachine(): Promise<void> {
    const nonce = randomBytes(6).toString('hex');
    const defaults = `environment.etc."progress-nonce".text = "${nonce}";
    system.activationScripts.progress = "echo progress-activated-${nonce}";
    system.stateVersion = "24.05";`;
    await ws.write('network.nix', network.replace('system.stateVersion = "24.05";', defaults));
  }

  const args = (...rest: string[]) => ['--state-dir', ws.stateDir, '-f', join(ws.dir, 'local.yaml'), ...rest];

  it('draws a live line per machine in a terminal, each going through the stages in order, then the report', async () => {
    await changeEveryMachine();
    const socket = `reconix-progress-${process.pid}`;
    const tmux = (...a: string[]) => run('tmux', ['-L', socket, ...a]);
    const command = [process.execPath, CLI, ...args('deploy')].map((a) => `'${a}'`).join(' ');
    await tmux(
      'new-session',
      '-d',
      '-x',
      '120',
      '-y',
      '40',
      '-s',
      'deploy',
      `${command}; echo "EXIT=$?"; sleep 600`,
    );
    const panePid = Number(
      (await tmux('display-message', '-p', '-t', 'deploy', '#{pane_pid}')).stdout.trim(),
    );
    const seen = new Map<string, string[]>(MACHINES.map((m) => [m, []]));
    let screen = '';
    try {
      await eventually(
        'the deploy to end',
        async () => {
          screen = (await tmux('capture-pane', '-p', '-t', 'deploy')).stdout;
          for (const line of screen.split('\n')) {
            const [, machine, stage] = STAGE.exec(line) ?? [];
            const stages = machine ? seen.get(machine) : undefined;
            if (stages && stage && stages.at(-1) !== stage) stages.push(stage);
          }
          return /EXIT=\d+/.test(screen);
        },
        240_000,
        50,
      );
    } finally {
      process.kill(panePid, 'SIGTERM');
      await tmux('kill-server').catch(() => undefined);
    }
    assert.match(screen, /EXIT=0/, screen);
    for (const [machine, stages] of seen) {
      // Polling sees what is on the screen when it looks: stages may be missed, never out of order.
      const order = stages.map((s) => STAGES.indexOf(s));
      assert.deepEqual(order, [...order].sort(), `${machine}: ${stages.join(' > ')}\n${screen}`);
      assert.equal(stages.at(-1), 'done', `${machine}: ${stages.join(' > ')}`);
    }
    assert.ok(
      [...seen.values()].some((s) => s.length >= 2),
      `no machine was seen in a stage before done:\n${screen}`,
    );
    // The last screen: the deployment's line, one line per machine, then the report.
    const lines = screen.split('\n');
    for (const m of MACHINES) {
      assert.equal(
        lines.filter((l) => new RegExp(`^${m}\\s+done\\s+\\d+:\\d\\d$`).test(l)).length,
        1,
        screen,
      );
    }
    assert.ok(
      lines.some((l) => /^apache-local: done/.test(l)),
      screen,
    );
    assert.ok(
      lines.some((l) => /^proxy: activated/.test(l) || /proxy.*activated/.test(l)),
      screen,
    );
  });

  it('prints timestamped stage lines when piped, and with -v the activation output after the machine name', async () => {
    await changeEveryMachine();
    const nonce = /progress-activated-(\w+)/.exec(await ws.read('network.nix'))![1]!;
    const out = await reconix(args('-v', 'deploy'));
    assert.equal(out.code, 0, out.stdout + out.stderr);
    const stageLines = out.stdout
      .split('\n')
      .map((l) => /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ) (\S+) (\S+)/.exec(l))
      .filter((m): m is RegExpExecArray => m !== null);
    for (const m of MACHINES) {
      const stages = stageLines.filter((l) => l[2] === m).map((l) => l[3]);
      assert.deepEqual(stages, STAGES, `${m}:\n${out.stdout}`);
      assert.match(out.stdout, new RegExp(`^${m} \\| .*progress-activated-${nonce}`, 'm'));
    }
    // Stage changes only: one copying line per machine however many byte counts came.
    assert.equal(stageLines.filter((l) => l[3] === 'copying').length, MACHINES.length);
    // -v's log lines (JSON, stderr is no terminal) each say the stage they were written in.
    const logs = out.stderr
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { msg: string; stage?: string; machine?: string });
    assert.ok(logs.length > 0, out.stderr);
    for (const l of logs) assert.ok(l.stage, `no stage: ${JSON.stringify(l)}`);
    const activated = logs.filter((l) => l.msg === 'machine activated');
    assert.deepEqual(
      activated.map((l) => l.stage),
      MACHINES.map(() => 'activating'),
    );
  });

  it('prints --json events that all follow their schema, in stage order, and the report as the last line', async () => {
    await changeEveryMachine();
    const out = await reconix(args('deploy', '--json'));
    assert.equal(out.code, 0, out.stdout + out.stderr);
    const lines = out.stdout.trim().split('\n');
    const events: ProgressEvent[] = lines.slice(0, -1).map(assertEvent);
    const report = assertConforms('deploy', out.stdout) as { ok: boolean };
    assert.equal(report.ok, true);
    assert.ok(!('type' in report));
    for (const m of MACHINES) {
      const stages = events.flatMap((e) => (e.type === 'machine' && e.machine === m ? [e.stage] : []));
      assert.deepEqual([...new Set(stages)], STAGES, m);
      const copied = events.filter((e) => e.type === 'machine' && e.machine === m && e.copied);
      const last = copied.at(-1) as { copied: { bytes: number; total: number } } | undefined;
      assert.ok(last && last.copied.bytes === last.copied.total && last.copied.total > 0, m);
    }
    const deployment = events.flatMap((e) => (e.type === 'deployment' ? [e.stage] : []));
    assert.deepEqual(deployment, ['started', 'evaluating', 'building', 'applying', 'done']);
    // No output events without -v.
    assert.ok(events.every((e) => e.type !== 'output'));
  });
});
