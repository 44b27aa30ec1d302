// Machine-wide CPU time (from /proc/stat): what a run cost all processes together, ours and the hosts' (sshd,
// nix-store). It also counts whatever else runs on the machine, so read it as an upper bound.
import { readFile } from 'node:fs/promises';

const TICK_MS = 10; // USER_HZ is 100 on Linux

async function busyTicks(): Promise<number> {
  const line = (await readFile('/proc/stat', 'utf8')).split('\n')[0] ?? '';
  const [, ...fields] = line.trim().split(/\s+/);
  const n = fields.map(Number);
  const total = n.slice(0, 8).reduce((a, b) => a + b, 0);
  return total - (n[3] ?? 0) - (n[4] ?? 0); // minus idle and iowait
}

/** Run `fn` and return its result with the machine's busy CPU time meanwhile, in milliseconds. */
export async function withMachineCpu<T>(fn: () => Promise<T>): Promise<{ value: T; cpuMs: number }> {
  const before = await busyTicks();
  const value = await fn();
  return { value, cpuMs: ((await busyTicks()) - before) * TICK_MS };
}
