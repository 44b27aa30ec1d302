// What one bench host costs, apart from any fleet: its start time, its sshd's RSS, its disk before any system.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseHostRecord } from '../../src/providers/local/index.js';
import { run } from '../../src/util/exec.js';
import { BenchHosts, type BenchHost } from './hosts.js';
import { median, timed } from './stats.js';

export async function rssKiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
}

export async function diskBytes(dir: string): Promise<number> {
  const { stdout } = await run('du', ['-sb', dir]);
  return Number(stdout.split(/\s/)[0]);
}

export interface HostCost {
  hosts: number;
  startMs: number;
  sshdRssKiB: number;
  diskBytes: number;
}

/** What fresh hosts cost, started one after the other: start time, sshd's RSS, disk before any system. */
export async function hostCost(count: number, prefix: string): Promise<HostCost> {
  const dir = await mkdtemp(join(tmpdir(), 'reconix-bench-hostcost-'));
  const hosts = await BenchHosts.create(dir, 'hostcost', prefix);
  try {
    const made: BenchHost[] = [];
    const times: number[] = [];
    for (let i = 0; i < count; i++) {
      const { value, ms } = await timed(() => hosts.host(`h${i}`));
      made.push(value);
      times.push(ms);
    }
    const rss = await Promise.all(made.map((h) => rssKiB(parseHostRecord(h.record)!.pid!)));
    return {
      hosts: count,
      startMs: median(times),
      sshdRssKiB: median(rss),
      diskBytes: (await diskBytes(join(dir, 'hosts'))) / count,
    };
  } finally {
    await hosts.destroyAll();
    await rm(dir, { recursive: true, force: true });
  }
}
