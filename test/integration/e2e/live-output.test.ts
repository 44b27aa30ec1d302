// What exec shows while its command runs, and -v's activation output while a deploy runs, on real local hosts: in
// a real terminal (tmux, its screen captured as the command runs), piped, and as --json events.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { ProgressEvent } from '../../../src/core/progress.js';
import { CLI, reconix } from '../../support/cli.js';
import { assertEvent } from '../../support/schemas.js';
import { EXIT, watchTerminal } from '../../support/terminal.js';
import { makeWorkspace, type Workspace } from '../../support/workspace.js';

const MACHINES = ['backend1', 'backend2', 'proxy'];
// Each machine says it started, waits, says where it ended; on the proxy the command fails.
const COMMAND = [
  'sh',
  '-c',
  'echo started; sleep 2; h=$(cat /run/current-system/etc/hostname); echo "ended on $h"; [ "$h" != proxy ] || exit 4',
];
const EXEC_STAGE = /^(\S+)\s+(running|done|failed)\b(.*)$/;

describe('what exec and -v show while they run', function () {
  this.timeout(300_000);
  let ws: Workspace;
  let network: string;
  const args = (...rest: string[]) => ['--state-dir', ws.stateDir, '-f', join(ws.dir, 'local.yaml'), ...rest];

  before(async () => {
    ws = await makeWorkspace('apache');
    network = await ws.read('network.nix');
    const first = await reconix(args('deploy'));
    assert.equal(first.code, 0, first.stdout + first.stderr);
  });
  after(async () => {
    await ws?.dispose();
  });

  it('exec draws a live line per machine in a terminal, running then done or failed with the exit code, the output above', async () => {
    const seen = new Map<string, string[]>(MACHINES.map((m) => [m, []]));
    const argv = [process.execPath, CLI, ...args('exec', '--', ...COMMAND)];
    const screen = await watchTerminal(argv, { what: 'exec to end', timeoutMs: 120_000 }, (now) => {
      for (const line of now.split('\n')) {
        const [, machine, stage] = EXEC_STAGE.exec(line) ?? [];
        const stages = machine ? seen.get(machine) : undefined;
        if (stages && stage && stages.at(-1) !== stage) stages.push(stage);
      }
    });
    assert.match(screen, /EXIT=1/, screen);
    for (const [machine, stages] of seen) {
      const end = machine === 'proxy' ? 'failed' : 'done';
      assert.deepEqual(stages, ['running', end], `${machine}: ${stages.join(' > ')}\n${screen}`);
    }
    const lines = screen.split('\n');
    const final = (m: string) => lines.find((l) => EXEC_STAGE.exec(l)?.[1] === m) ?? '';
    assert.match(final('backend1'), /done\s+exit code 0\s+0:0\d$/, screen);
    assert.match(final('proxy'), /failed\s+CommandFailed: exit code 4\s+0:0\d$/, screen);
    // The command's output scrolled by above the block, after the machine names, as without a terminal.
    for (const m of MACHINES) {
      const started = lines.findIndex((l) => new RegExp(`^${m}\\s+\\| started$`).test(l));
      const ended = lines.findIndex((l) => new RegExp(`^${m}\\s+\\| ended on ${m}$`).test(l));
      assert.ok(started >= 0 && ended > started, screen);
      assert.ok(ended < lines.findIndex((l) => EXEC_STAGE.test(l)), screen);
    }
    assert.match(screen, /^proxy: exit code 4$/m);
  });

  it("exec piped keeps stdout to the command's output and writes its timestamped stage lines on stderr", async () => {
    const out = await reconix(args('exec', '--', ...COMMAND));
    assert.equal(out.code, 1, out.stdout + out.stderr);
    const stdout = out.stdout.trim().split('\n');
    assert.deepEqual(
      [...stdout].sort(),
      MACHINES.flatMap((m) => [`${m.padEnd(8)} | ended on ${m}`, `${m.padEnd(8)} | started`]).sort(),
    );
    const stages = out.stderr
      .split('\n')
      .map((l) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ (\S+) (running|done|failed)(.*)$/.exec(l))
      .filter((m): m is RegExpExecArray => m !== null);
    for (const m of MACHINES) {
      const mine = stages.filter((s) => s[1] === m).map((s) => `${s[2]}${s[3]}`);
      const end = m === 'proxy' ? 'failed CommandFailed exit code 4' : 'done exit code 0';
      assert.deepEqual(mine, ['running', end], out.stderr);
    }
    assert.match(out.stderr, /^proxy: exit code 4$/m);
  });

  it('exec --json prints events that follow their schema, the output among them, one JSON object a line', async () => {
    const out = await reconix(args('exec', '--json', '--', ...COMMAND));
    assert.equal(out.code, 1, out.stdout + out.stderr);
    const events: ProgressEvent[] = out.stdout.trim().split('\n').map(assertEvent);
    for (const m of MACHINES) {
      const summary = events.flatMap((e) => {
        if (e.type === 'machine' && e.machine === m)
          return [`${e.stage}${e.exitCode === undefined ? '' : ` ${e.exitCode}`}`];
        return e.type === 'output' && e.machine === m ? [`${e.stream}: ${e.line}`] : [];
      });
      const end = m === 'proxy' ? 'failed 4' : 'done 0';
      assert.deepEqual(summary, ['running', 'stdout: started', `stdout: ended on ${m}`, end], m);
    }
    const deployment = events.flatMap((e) => (e.type === 'deployment' ? [e.stage] : []));
    assert.deepEqual(deployment, ['started', 'failed']);
  });

  it("-v shows each machine's activation output, after its name, while the activation still runs", async () => {
    const nonce = randomBytes(6).toString('hex');
    const script = `echo first-${nonce}; sleep 4; echo second-${nonce}`;
    await ws.write(
      'network.nix',
      network.replace(
        'system.stateVersion = "24.05";',
        `system.activationScripts.stream = ${JSON.stringify(script)};\n    system.stateVersion = "24.05";`,
      ),
    );
    // Tall enough that the build's output (with -v too) does not scroll the activations' off the screen.
    const early = new Set<string>();
    const argv = [process.execPath, CLI, ...args('-v', 'deploy')];
    const watch = { what: 'the deploy to end', timeoutMs: 240_000, columns: 120, rows: 150 };
    const screen = await watchTerminal(argv, watch, (now) => {
      const ended = EXIT.test(now);
      for (const m of MACHINES) {
        // The first line on the screen while the second is not yet, and the deploy has not ended.
        const first = new RegExp(`^${m} \\| first-${nonce}$`, 'm').test(now);
        const second = new RegExp(`^${m} \\| second-${nonce}$`, 'm').test(now);
        if (first && !second && !ended) early.add(m);
      }
    });
    assert.match(screen, /EXIT=0/, screen);
    assert.deepEqual([...early].sort(), MACHINES, screen);
    for (const m of MACHINES) {
      for (const which of ['first', 'second'])
        assert.equal(
          screen.split('\n').filter((l) => l === `${m} | ${which}-${nonce}`).length,
          1,
          `${m} ${which}:\n${screen}`,
        );
    }
  });
});
