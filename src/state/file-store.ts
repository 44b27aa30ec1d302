// The embedded store: one JSON document per deployment, replaced atomically, guarded by a lock file.
import { constants, promises as fs } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { Reason } from '../api/conditions.js';
import { ReconixError } from '../core/errors.js';
import { emptyState, type DeploymentState } from '../core/model.js';
import type { StateBackend, StateHandle } from './backend.js';

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

export interface LockInfo {
  pid: number;
  host: string;
  since: string;
  purpose: string;
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

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class FileStateStore implements StateBackend {
  constructor(readonly dir: string) {}

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
    let released = false;
    return {
      state,
      save: () => {
        if (released) return Promise.reject(new Error(`state of ${name} saved after its lock was released`));
        const snapshot = JSON.stringify(state, null, 2) + '\n';
        chain = chain.then(() => writeFileAtomic(file, snapshot));
        return chain;
      },
      release: async () => {
        if (released) return;
        released = true;
        await chain.catch(() => undefined);
        await fs.rm(lockFile, { force: true });
      },
    };
  }

  private async takeLock(name: string, lockFile: string, purpose: string): Promise<void> {
    const info: LockInfo = { pid: process.pid, host: hostname(), since: new Date().toISOString(), purpose };
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const handle = await fs.open(
          lockFile,
          constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY,
          0o600,
        );
        await handle.writeFile(JSON.stringify(info));
        await handle.close();
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const holder = await this.readLock(lockFile);
      if (holder && (holder.host !== hostname() || alive(holder.pid))) {
        throw new ReconixError(
          Reason.StateLocked,
          `deployment ${name} is locked by pid ${holder.pid} on ${holder.host} (${holder.purpose}) since ${holder.since}; ` +
            `wait for it to finish, or remove ${lockFile} if that process is gone`,
        );
      }
      // The holder died without releasing: the lock is stale.
      await fs.rm(lockFile, { force: true });
    }
    throw new ReconixError(Reason.StateLocked, `could not take the lock ${lockFile}`);
  }

  /** Who holds the lock of a deployment, and whether that process is alive on this host; none: not locked. */
  async lockOf(name: string): Promise<(LockInfo & { file: string; alive: boolean }) | undefined> {
    const file = this.file(name, 'lock');
    const info = await this.readLock(file);
    if (!info) {
      const exists = await fs.access(file).then(
        () => true,
        () => false,
      );
      return exists
        ? { pid: 0, host: '?', since: '?', purpose: 'unreadable', file, alive: false }
        : undefined;
    }
    return { ...info, file, alive: info.host === hostname() && alive(info.pid) };
  }

  /** Remove a deployment's lock file, whoever holds it (`reconix unlock` checks first). */
  async removeLock(name: string): Promise<void> {
    await fs.rm(this.file(name, 'lock'), { force: true });
  }

  private async readLock(lockFile: string): Promise<LockInfo | undefined> {
    try {
      return JSON.parse(await fs.readFile(lockFile, 'utf8')) as LockInfo;
    } catch {
      return undefined;
    }
  }
}
