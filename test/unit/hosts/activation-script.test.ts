// The host-side activation script, run by a real sh against fixture systems (test mode: no profile to set), and
// the parsing of what it leaves behind.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ACTIVATION_SCRIPT,
  activationDir,
  confirmCommand,
  startCommand,
} from '../../../src/ssh/activation.js';
import { parseActivationStatus, parseObservation } from '../../../src/ssh/observation.js';
import { eventually } from '../../support/workspace.js';

describe('the host-side activation script', function () {
  this.timeout(30_000);
  let dir: string;
  let d: string;

  /** A system whose switch-to-configuration runs `body` and records its action in `switched`. */
  async function system(name: string, body = 'true'): Promise<string> {
    const out = join(dir, name);
    await mkdir(join(out, 'bin'), { recursive: true });
    const file = join(out, 'bin/switch-to-configuration');
    await writeFile(file, `#!/bin/sh\necho "${name} $1" >>${join(dir, 'switched')}\n${body}\n`);
    await chmod(file, 0o755);
    return out;
  }

  /** Run the script in the foreground; resolves with its exit code once it settled. */
  function run(system: string, previous: string, confirmMs: number, limitS = 5): Promise<number | null> {
    const args = [d, system, 'test', '', previous, String(confirmMs), String(limitS)];
    const child = spawn('sh', ['-c', ACTIVATION_SCRIPT, 'sh', ...args], { stdio: 'ignore' });
    return new Promise((resolve) => child.once('exit', resolve));
  }

  const status = async () => (await readFile(join(d, 'status'), 'utf8')).trim();
  const switched = async () => (await readFile(join(dir, 'switched'), 'utf8')).trim().split('\n');

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'reconix-activation-'));
    d = join(dir, 'act');
    await mkdir(d);
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('stays on the new system once the confirmation arrives', async () => {
    const [next, prev] = [await system('next'), await system('prev')];
    const done = run(next, prev, 5000);
    // The controller's confirmation: the same command it sends over a new connection.
    const confirm = confirmCommand('x').replace(activationDir('x'), d);
    await eventually('the script to wait for a confirmation', async () =>
      (await readFile(join(d, 'status'), 'utf8').catch(() => '')).startsWith('awaiting-confirmation'),
    );
    assert.equal((await sh(confirm)).trim(), 'confirmed');
    assert.equal(await done, 0);
    assert.equal(await status(), 'confirmed');
    assert.deepEqual(await switched(), ['next test']);
  });

  it('switches back by itself when no confirmation arrives in time', async () => {
    const [next, prev] = [await system('next'), await system('prev')];
    assert.equal(await run(next, prev, 300), 1);
    assert.equal(await status(), 'rolled-back ConnectivityLost');
    assert.deepEqual(await switched(), ['next test', 'prev test']);
    // A confirmation that comes too late changes nothing.
    assert.equal((await sh(confirmCommand('x').replace(activationDir('x'), d))).trim(), 'late');
  });

  it('switches back at once when the activation fails', async () => {
    const [next, prev] = [await system('next', 'exit 3'), await system('prev')];
    assert.equal(await run(next, prev, 5000), 1);
    assert.equal(await status(), 'rolled-back ActivationFailed');
    assert.match(await readFile(join(dir, 'switched'), 'utf8'), /prev test/);
  });

  it('kills a hung activation with its children after the time limit, then switches back', async () => {
    const [next, prev] = [await system('next', 'sleep 631'), await system('prev')];
    const started = Date.now();
    assert.equal(await run(next, prev, 5000, 1), 1);
    assert.ok(Date.now() - started < 10_000);
    assert.equal(await status(), 'rolled-back ActivationTimeout');
    assert.deepEqual(await switched(), ['next test', 'prev test']);
    assert.equal((await sh('pgrep -fx "sleep 631" || true')).trim(), '');
  });

  it('says it could not roll back when the host ran nothing before', async () => {
    assert.equal(await run(await system('next', 'exit 1'), '', 5000), 1);
    assert.equal(await status(), 'rollback-failed ActivationFailed');
  });
});

describe('activation commands and status', function () {
  it('refuses an activation id that could reach a shell unquoted', function () {
    assert.throws(() => activationDir('x; rm -rf /'), /not an activation id/);
    assert.throws(() => activationDir('../etc'), /not an activation id/);
  });

  it('passes the system and the timeouts in the units the script reads, and quotes what needs it', function () {
    const d = '/nix/var/reconix/activations/1700000000000-ab12';
    const a = '/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-nixos-system-a';
    const b = '/nix/store/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-nixos-system-b';
    const args = {
      id: '1700000000000-ab12',
      system: a,
      mode: 'switch',
      previous: { generation: 4, system: b },
      confirmMs: 30_000,
      activationTimeoutMs: 600_000,
    } as const;
    const cmd = startCommand(args);
    assert.ok(cmd.includes(`setsid sh ${d}/activate.sh ${d} ${a} switch 4 ${b} 30000 600 </dev/null`), cmd);
    assert.ok(startCommand({ ...args, system: "/nix/store/x'y" }).includes(`'/nix/store/x'\\''y'`));
  });

  for (const [text, want] of [
    ['confirmed\n', { id: 'a', state: 'confirmed' }],
    ['rolled-back ConnectivityLost\n', { id: 'a', state: 'rolled-back', reason: 'ConnectivityLost' }],
    ['rolled-back Whatever', { id: 'a', state: 'rolled-back' }],
    ['', undefined],
    ['exploded', undefined],
  ] as const) {
    it(`reads the status ${JSON.stringify(text)}`, function () {
      assert.deepEqual(parseActivationStatus('a', text), want);
    });
  }

  it('reads the last activation from what a host says about itself', function () {
    const obs = parseObservation('activation\t1700000000000-ab12\trolled-back ActivationTimeout\n');
    assert.deepEqual(obs.lastActivation, {
      id: '1700000000000-ab12',
      state: 'rolled-back',
      reason: 'ActivationTimeout',
    });
  });
});

function sh(command: string): Promise<string> {
  const child = spawn('sh', ['-c', command], { stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  return new Promise((resolve) => child.once('exit', () => resolve(out)));
}
