import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const RACER = fileURLToPath(new URL('./lock-racer.js', import.meta.url));
const PROCESSES = 8;
const ROUNDS = 125; // 8 x 125 = 1,000 acquisitions in all

const children: ChildProcess[] = [];

function runRacer(stateDir: string, logFile: string): Promise<number | null> {
  const child = spawn(process.execPath, [RACER, stateDir, logFile, String(ROUNDS)], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve(code));
  });
}

describe('the state lock under 8 racing processes', function () {
  this.timeout(240_000);
  let dir: string;

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'reconix-lock-race-'));
  });
  after(async () => {
    for (const child of children)
      if (child.exitCode === null && child.pid) process.kill(child.pid, 'SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });

  it('is never held by two processes at once in 1,000 acquisitions, and loses no update', async () => {
    const stateDir = path.join(dir, 'state');
    const logFile = path.join(dir, 'log');
    const codes = await Promise.all(Array.from({ length: PROCESSES }, () => runRacer(stateDir, logFile)));
    assert.deepEqual(codes, Array(PROCESSES).fill(0));

    const lines = (await readFile(logFile, 'utf8')).trimEnd().split('\n');
    assert.equal(lines.length, 2 * PROCESSES * ROUNDS);
    // Appends are atomic and ordered: the lock is exclusive exactly when every entry is followed by the same
    // process's exit, and no entry's time falls before the previous exit's.
    let previousLeave = 0n;
    const pids = new Set<string>();
    for (let i = 0; i < lines.length; i += 2) {
      const [enter, pid, enteredAt] = (lines[i] ?? '').split(' ');
      const [leave, leavePid, leftAt] = (lines[i + 1] ?? '').split(' ');
      assert.equal(enter, 'enter', `line ${i + 1}: ${lines[i]}`);
      assert.equal(leave, 'leave', `line ${i + 2}: ${lines[i + 1]} (two holders at once)`);
      assert.equal(leavePid, pid, `line ${i + 2}: another process left than entered`);
      assert.ok(
        BigInt(enteredAt ?? 0) >= previousLeave,
        `line ${i + 1}: entered before the last holder left`,
      );
      previousLeave = BigInt(leftAt ?? 0);
      pids.add(pid ?? '');
    }
    assert.equal(pids.size, PROCESSES);

    const state = JSON.parse(await readFile(path.join(stateDir, 'deployments', 'race.json'), 'utf8')) as {
      counter: number;
    };
    assert.equal(state.counter, PROCESSES * ROUNDS);
    assert.deepEqual(await readdir(path.join(stateDir, 'deployments')), ['race.json']);
  });
});
