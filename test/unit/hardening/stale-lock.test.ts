import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { ReconixError } from '../../../src/core/errors.js';
import { FileStateStore } from '../../../src/state/file-store.js';
import { procfs } from '../../../src/state/lock-owner.js';

/** A process that stays alive until the test ends; its pid is a live holder. */
function sleeper(): ChildProcess {
  return spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
}

async function exitedPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  await new Promise((resolve) => child.once('close', resolve));
  return child.pid!;
}

describe('a stale state lock', () => {
  let dir: string;
  let store: FileStateStore;
  let live: ChildProcess;
  let bootId: string;
  let liveStart: string;
  const lockFile = (): string => path.join(dir, 'deployments', 'web.lock');
  const writeLock = (info: object): Promise<void> =>
    writeFile(lockFile(), JSON.stringify({ since: '2024-01-01T00:00:00Z', purpose: 'deploy', ...info }));
  const takes = async (): Promise<void> => (await store.acquire('web', 'test')).release();
  const refuses = (): Promise<void> =>
    assert.rejects(
      store.acquire('web', 'test'),
      (err: unknown) => err instanceof ReconixError && /is locked by pid/.test(err.message),
    );

  before(async () => {
    live = sleeper();
    bootId = (await procfs.bootId())!;
    for (let i = 0; i < 100 && !liveStart; i++) {
      liveStart = (await procfs.startTime(live.pid!)) ?? '';
      if (!liveStart) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.ok(bootId && liveStart, 'this machine has /proc');
  });
  after(() => {
    if (live.pid) process.kill(live.pid, 'SIGKILL');
  });
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'reconix-stale-'));
    await mkdir(path.join(dir, 'deployments'));
    store = new FileStateStore(dir);
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('records the boot id and the start time of its holder', async () => {
    const handle = await store.acquire('web', 'test');
    const info = JSON.parse(await readFile(lockFile(), 'utf8')) as Record<string, unknown>;
    await handle.release();
    assert.equal(info.pid, process.pid);
    assert.equal(info.bootId, bootId);
    assert.equal(info.startTime, await procfs.startTime(process.pid));
  });

  it('is refused while its holder runs (same pid, boot id and start time)', async () => {
    await writeLock({ pid: live.pid, host: hostname(), bootId, startTime: liveStart });
    await refuses();
  });

  it('is taken when its pid is alive but started at another time (a reused pid, a restarted container)', async () => {
    await writeLock({ pid: live.pid, host: hostname(), bootId, startTime: String(Number(liveStart) + 1) });
    await takes();
  });

  it('is taken when it was written before the kernel last booted (another boot id), even by a live pid', async () => {
    await writeLock({
      pid: live.pid,
      host: hostname(),
      bootId: 'f0f0f0f0-0000-4000-8000-000000000000',
      startTime: liveStart,
    });
    await takes();
  });

  it('is taken when no process has its pid', async () => {
    await writeLock({ pid: await exitedPid(), host: hostname(), bootId });
    await takes();
  });

  it('is taken when it is not a lock at all (garbage or empty)', async () => {
    await writeFile(lockFile(), '');
    await takes();
    await writeFile(lockFile(), '{"pid": "x"');
    await takes();
  });

  it('is refused when another host holds it, whatever its pid (the directory may be shared)', async () => {
    await writeLock({ pid: await exitedPid(), host: `not-${hostname()}`, bootId: 'other' });
    await refuses();
  });

  it('of an older Reconix (pid only) is refused while that pid runs', async () => {
    await writeLock({ pid: live.pid, host: hostname() });
    await refuses();
  });

  it('left behind with a break lock of a dead breaker is still taken', async () => {
    await writeLock({ pid: await exitedPid(), host: hostname(), bootId });
    await writeFile(
      `${lockFile()}.break`,
      JSON.stringify({ pid: await exitedPid(), host: hostname(), bootId }),
    );
    await takes();
  });
});
