// The embedded store: one JSON document per deployment, replaced atomically, guarded by a lock file.
import { constants, promises as fs } from 'node:fs';
import path from 'node:path';
import { Reason } from '../api/conditions.js';
import { ReconixError } from '../core/errors.js';
import { emptyState, type DeploymentState } from '../core/model.js';
import type { StateBackend, StateHandle } from './backend.js';
import { holderIsGone, lockOwner, procfs, type LockInfo, type ProcSource } from './lock-owner.js';

const NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

export function assertDeploymentName(name: string): string {
  if (!NAME.test(name)) {
    throw new ReconixError(
      Reason.InvalidManifest,
      `invalid deployment name ${JSON.stringify(name)}: use lower-case letters, digits, '-' and '.' (a Kubernetes object name)`,
      { reaction: 'stall' },
    );
  }
  return name;
}

/** Write a file so that a crash leaves either the old or the new content, never a mix. */
export async function writeFileAtomic(file: string, data: string, mode = 0o600): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  const handle = await fs.open(tmp, 'w', mode);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fs.rename(tmp, file);
  const dir = await fs.open(path.dirname(file), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

export class FileStateStore implements StateBackend {
  constructor(
    readonly dir: string,
    private readonly proc: ProcSource = procfs,
  ) {}

  private file(name: string, ext: string): string {
    return path.join(this.dir, 'deployments', `${assertDeploymentName(name)}.${ext}`);
  }

  async read(name: string): Promise<DeploymentState> {
    try {
      const parsed = JSON.parse(await fs.readFile(this.file(name, 'json'), 'utf8')) as DeploymentState;
      if (parsed.version !== 1) throw new Error(`unsupported state version ${String(parsed.version)}`);
      return parsed;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return emptyState(name);
      throw new ReconixError(Reason.StateLocked, `cannot read state of ${name}: ${(err as Error).message}`, {
        cause: err,
        reaction: 'stall',
      });
    }
  }

  async list(): Promise<string[]> {
    try {
      const names = await fs.readdir(path.join(this.dir, 'deployments'));
      return names.filter((n) => n.endsWith('.json')).map((n) => n.slice(0, -'.json'.length));
    } catch {
      return [];
    }
  }

  async remove(name: string): Promise<void> {
    await fs.rm(this.file(name, 'json'), { force: true });
  }

  async acquire(name: string, purpose: string): Promise<StateHandle> {
    await fs.mkdir(path.join(this.dir, 'deployments'), { recursive: true, mode: 0o700 });
    const lockFile = this.file(name, 'lock');
    await this.takeLock(name, lockFile, purpose);
    const state = await this.read(name);
    const file = this.file(name, 'json');
    let chain: Promise<void> = Promise.resolve();
    // A write queued behind the one in progress, not started yet: later saves share it, since it serialises the
    // state when it starts and so holds their changes too. A run of N machines saving as each one is done writes
    // the state a few times, not N times over.
    let queued: Promise<void> | undefined;
    let released = false;
    return {
      state,
      save: () => {
        if (released) return Promise.reject(new Error(`state of ${name} saved after its lock was released`));
        if (queued) return queued;
        const next = chain.then(() => {
          queued = undefined;
          return writeFileAtomic(file, JSON.stringify(state, null, 2) + '\n');
        });
        queued = next;
        chain = next;
        return next;
      },
      release: async () => {
        if (released) return;
        released = true;
        await chain.catch(() => undefined);
        await fs.rm(lockFile, { force: true });
      },
    };
  }

  /**
   * Take the lock file. Its content is written first and then hard-linked into place, so no process ever reads a
   * half-written lock. Only the holder of `<lock>.break` removes a stale lock, and only after reading it again
   * under that lock: two processes that find the same stale lock cannot remove each other's new one.
   */
  private async takeLock(name: string, lockFile: string, purpose: string): Promise<void> {
    const owner = await lockOwner(this.proc);
    const content = JSON.stringify({ ...owner, since: new Date().toISOString(), purpose });
    for (let attempt = 0; attempt < 5; attempt++) {
      if (await createWith(lockFile, content)) return;
      const seen = await readText(lockFile);
      if (seen === undefined) continue; // released meanwhile
      const holder = parseLock(seen);
      if (holder && !(await holderIsGone(holder, this.proc))) {
        throw new ReconixError(
          Reason.StateLocked,
          `deployment ${name} is locked by pid ${holder.pid} on ${holder.host} (${holder.purpose}) since ${holder.since}; ` +
            `wait for it to finish, or remove ${lockFile} if that process is gone`,
        );
      }
      await this.breakStale(lockFile, content);
    }
    throw new ReconixError(Reason.StateLocked, `could not take the lock ${lockFile}`);
  }

  /** Who holds the lock of a deployment, and whether that process is alive (boot id and start time checked). */
  async lockOf(name: string): Promise<(LockInfo & { file: string; alive: boolean }) | undefined> {
    const file = this.file(name, 'lock');
    const seen = await readText(file);
    if (seen === undefined) return undefined;
    const info = parseLock(seen);
    if (!info) return { pid: 0, host: '?', since: '?', purpose: 'unreadable', file, alive: false };
    return { ...info, file, alive: info.host === this.proc.host() && !(await holderIsGone(info, this.proc)) };
  }

  /** Remove a deployment's lock file, whoever holds it (`reconix unlock` checks first). */
  async removeLock(name: string): Promise<void> {
    await fs.rm(this.file(name, 'lock'), { force: true });
  }

  /** Remove the lock if, read again under the break lock, its holder is gone (or it is no lock at all). */
  private async breakStale(lockFile: string, content: string): Promise<void> {
    const breakFile = `${lockFile}.break`;
    if (!(await createWith(breakFile, content))) {
      // Another process is breaking it. One that died there leaves a break lock that is itself stale.
      const seen = await readText(breakFile);
      const holder = seen === undefined ? undefined : parseLock(seen);
      if (seen !== undefined && (!holder || (await holderIsGone(holder, this.proc))))
        await removeIfSame(breakFile, seen);
      await new Promise((resolve) => setTimeout(resolve, 2));
      return;
    }
    try {
      const seen = await readText(lockFile);
      const holder = seen === undefined ? undefined : parseLock(seen);
      if (seen !== undefined && (!holder || (await holderIsGone(holder, this.proc))))
        await fs.rm(lockFile, { force: true });
    } finally {
      await fs.rm(breakFile, { force: true });
    }
  }
}

/** Create `file` holding `content` unless it exists: written beside it, then hard-linked (fails if it exists). */
async function createWith(file: string, content: string): Promise<boolean> {
  const tmp = `${file}.new-${process.pid}-${Math.random().toString(36).slice(2)}`;
  const handle = await fs.open(tmp, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, 0o600);
  try {
    await handle.writeFile(content);
  } finally {
    await handle.close();
  }
  try {
    await fs.link(tmp, file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    await fs.rm(tmp, { force: true });
  }
}

/** Remove `file` if it still holds `content`: moved aside first, and put back if it turns out to be another. */
async function removeIfSame(file: string, content: string): Promise<void> {
  const aside = `${file}.old-${process.pid}-${Math.random().toString(36).slice(2)}`;
  try {
    await fs.rename(file, aside);
  } catch {
    return;
  }
  if ((await readText(aside)) !== content) await fs.link(aside, file).catch(() => undefined);
  await fs.rm(aside, { force: true });
}

async function readText(file: string): Promise<string | undefined> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

function parseLock(text: string): LockInfo | undefined {
  try {
    const parsed = JSON.parse(text) as Partial<LockInfo> | null;
    return parsed && typeof parsed.pid === 'number' && typeof parsed.host === 'string'
      ? (parsed as LockInfo)
      : undefined;
  } catch {
    return undefined;
  }
}
