// Who holds a lock, told apart across restarts: a pid alone is not enough (a restarted container is pid 1
// again), so a lock records the kernel's boot id and the process's start time next to it.
import { promises as fs } from 'node:fs';
import { hostname } from 'node:os';

export interface LockInfo {
  pid: number;
  host: string;
  /** /proc/sys/kernel/random/boot_id of the holder's kernel. */
  bootId?: string;
  /** Field 22 of /proc/<pid>/stat: clock ticks after boot when the holder started. */
  startTime?: string;
  since: string;
  purpose: string;
}

export interface ProcessIdentity {
  pid: number;
  host: string;
  bootId?: string;
  startTime?: string;
}

/** Where the identity of a process is read from; a seam for tests that write lock files of other hosts. */
export interface ProcSource {
  bootId(): Promise<string | undefined>;
  startTime(pid: number): Promise<string | undefined>;
  host(): string;
}

export const procfs: ProcSource = {
  bootId: async () => (await readOptional('/proc/sys/kernel/random/boot_id'))?.trim() || undefined,
  startTime: async (pid) => {
    const stat = await readOptional(`/proc/${pid}/stat`);
    if (stat === undefined) return undefined;
    // The command name (field 2) may hold spaces and parentheses: count fields after its last ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return rest[22 - 3];
  },
  host: () => hostname(),
};

async function readOptional(file: string): Promise<string | undefined> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** This process, as a lock records it. */
export async function lockOwner(proc: ProcSource = procfs): Promise<ProcessIdentity> {
  const [bootId, startTime] = await Promise.all([proc.bootId(), proc.startTime(process.pid)]);
  return {
    pid: process.pid,
    host: proc.host(),
    ...(bootId ? { bootId } : {}),
    ...(startTime ? { startTime } : {}),
  };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Whether the lock's holder is certainly gone: on this host, the kernel booted again since (another boot id), or
 * no process has its pid, or the process with its pid started at another time (the pid was reused). A lock of
 * another host is never taken for stale: that host may share the state directory and still be working.
 */
export async function holderIsGone(holder: LockInfo, proc: ProcSource = procfs): Promise<boolean> {
  if (holder.host !== proc.host()) return false;
  const bootId = await proc.bootId();
  if (holder.bootId !== undefined && bootId !== undefined && holder.bootId !== bootId) return true;
  if (!Number.isInteger(holder.pid) || holder.pid <= 0 || !alive(holder.pid)) return true;
  if (holder.startTime === undefined) return false;
  const startTime = await proc.startTime(holder.pid);
  return startTime !== undefined && startTime !== holder.startTime;
}
