// Peak memory of a process and of the Nix processes under it, sampled from /proc while it runs: the controller's
// own RSS, the largest single Nix process (evaluator, builder, store) and the most Nix memory alive at once.
import { readdir, readFile } from 'node:fs/promises';

export interface TreePeaks {
  /** Peak RSS of the root process itself. */
  rootBytes: number;
  /** The largest RSS one Nix process reached. */
  nixMaxBytes: number;
  /** The largest sum of the RSS of the Nix processes alive at one sample. */
  nixSumBytes: number;
  /** Distinct Nix processes seen. */
  nixProcesses: number;
  samples: number;
}

interface ProcStat {
  pid: number;
  ppid: number;
  comm: string;
  rssBytes: number;
}

const PAGE = 4096;

async function stat(pid: number): Promise<ProcStat | undefined> {
  try {
    const text = await readFile(`/proc/${pid}/stat`, 'utf8');
    const close = text.lastIndexOf(')');
    const comm = text.slice(text.indexOf('(') + 1, close);
    const fields = text.slice(close + 2).split(' ');
    // Fields after the command: state ppid ... rss is the 24th field overall, the 22nd after it.
    return { pid, ppid: Number(fields[1]), comm, rssBytes: Number(fields[21]) * PAGE };
  } catch {
    return undefined;
  }
}

/** Sample the tree under `root` every `everyMs` until `stop()`; returns the peaks. */
export function sampleTree(root: number, everyMs = 250): { stop(): Promise<TreePeaks> } {
  const peaks: TreePeaks = { rootBytes: 0, nixMaxBytes: 0, nixSumBytes: 0, nixProcesses: 0, samples: 0 };
  const nixSeen = new Set<number>();
  let running = true;
  const once = async (): Promise<void> => {
    const pids = (await readdir('/proc')).filter((e) => /^\d+$/.test(e)).map(Number);
    const all = (await Promise.all(pids.map(stat))).filter((s): s is ProcStat => s !== undefined);
    const children = new Map<number, ProcStat[]>();
    for (const s of all) children.set(s.ppid, [...(children.get(s.ppid) ?? []), s]);
    const rootStat = all.find((s) => s.pid === root);
    if (!rootStat) return;
    peaks.rootBytes = Math.max(peaks.rootBytes, rootStat.rssBytes);
    let nixSum = 0;
    const queue = [...(children.get(root) ?? [])];
    for (let s = queue.pop(); s; s = queue.pop()) {
      if (s.comm.startsWith('nix')) {
        nixSum += s.rssBytes;
        nixSeen.add(s.pid);
        peaks.nixMaxBytes = Math.max(peaks.nixMaxBytes, s.rssBytes);
      }
      // A host's sshd (a child while the first deploy starts it) and its sessions are the host's, not ours.
      if (s.comm !== 'sshd') queue.push(...(children.get(s.pid) ?? []));
    }
    peaks.nixSumBytes = Math.max(peaks.nixSumBytes, nixSum);
    peaks.samples++;
  };
  const loop = (async () => {
    while (running) {
      await once().catch(() => undefined);
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      peaks.nixProcesses = nixSeen.size;
      return peaks;
    },
  };
}

/** Which of `pids` still run (not zombies): what a teardown left behind. */
export async function stillRunning(pids: readonly number[]): Promise<number[]> {
  const alive = await Promise.all(
    pids.map(async (p) => {
      const s = await readFile(`/proc/${p}/stat`, 'utf8').catch(() => '');
      const state = s.slice(s.lastIndexOf(')') + 2, s.lastIndexOf(')') + 3);
      return s !== '' && state !== 'Z' && state !== 'X';
    }),
  );
  return pids.filter((_, i) => alive[i]);
}

/**
 * CPU time of `pids`, of their children they waited for (sshd's ended sessions) and of their descendants still
 * running (the sessions a resident controller keeps open), in milliseconds. An ended child's time moves into its
 * parent's, so the sum only grows while the tree runs.
 */
export async function treeCpuMs(pids: readonly number[]): Promise<number> {
  const all = await Promise.all(
    (await readdir('/proc'))
      .filter((e) => /^\d+$/.test(e))
      .map(async (e) => {
        const s = await readFile(`/proc/${e}/stat`, 'utf8').catch(() => '');
        const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
        // ppid is field 4 overall; utime stime cutime cstime are fields 14-17 (2 and 12-15 after the command).
        const ticks = [11, 12, 13, 14].reduce((t, i) => t + Number(f[i] ?? 0), 0);
        return { pid: Number(e), ppid: Number(f[1]), ticks: s ? ticks : 0 };
      }),
  );
  const children = new Map<number, number[]>();
  for (const p of all) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p.pid]);
  const ticks = new Map(all.map((p) => [p.pid, p.ticks]));
  const seen = new Set<number>();
  const queue = [...pids];
  for (let p = queue.pop(); p !== undefined; p = queue.pop()) {
    if (seen.has(p)) continue;
    seen.add(p);
    queue.push(...(children.get(p) ?? []));
  }
  return [...seen].reduce((t, p) => t + (ticks.get(p) ?? 0), 0) * 10; // USER_HZ is 100 on Linux
}

/**
 * Stop `root` and what it started (a reconcile and its Nix processes), each by PID, leaving hosts' sshd to the
 * teardown that removes their directories too.
 */
export async function stopTree(root: number): Promise<void> {
  const pids = (await readdir('/proc')).filter((e) => /^\d+$/.test(e)).map(Number);
  const all = (await Promise.all(pids.map(stat))).filter((s): s is ProcStat => s !== undefined);
  const doomed = [root];
  for (let i = 0; i < doomed.length; i++) {
    for (const s of all) if (s.ppid === doomed[i] && s.comm !== 'sshd') doomed.push(s.pid);
  }
  for (const p of doomed) {
    try {
      process.kill(p, 'SIGTERM');
    } catch {
      // gone already
    }
  }
  // Its lock on the state must be gone before a destroy takes it: until its parent (this process, which spawned
  // it) has reaped it, the store takes a zombie with the holder's PID and start time for the holder still alive.
  const reaped = async (): Promise<boolean> => !(await readFile(`/proc/${root}/stat`).catch(() => undefined));
  for (let i = 0; i < 100 && !(await reaped()); i++) {
    await new Promise((r) => setTimeout(r, 100));
  }
}
