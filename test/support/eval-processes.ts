// Networks whose machines are heavy to evaluate, and a runner that watches the memory of every process it starts:
// what the batched-evaluation tests and the bench measure, independently of the evaluator's own sampling.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { NetworkSource } from '../../src/core/ports.js';
import { runProcess, type Runner } from '../../src/util/exec.js';

/**
 * A network of `machines` machines (m1, m2, ...) each of which builds a list of `strings` strings while it is
 * evaluated and keeps only 64 characters of it in an /etc file: much memory during evaluation, little in the store.
 * `broken` names a machine whose module reads an undefined variable, on a line of its own.
 */
export async function heavyNetwork(
  dir: string,
  o: { machines: number; strings: number; broken?: string },
): Promise<{ source: NetworkSource; file: string; brokenLine?: number }> {
  const lines = [
    '{',
    '  defaults = { name, ... }: {',
    '    deployment.targetEnv = "none";',
    `    environment.etc.heavy.text = builtins.substring 0 64 (builtins.concatStringsSep "," (builtins.genList (i: "\${name}-\${toString i}") ${o.strings}));`,
    '  };',
  ];
  let brokenLine: number | undefined;
  for (let i = 1; i <= o.machines; i++) {
    const name = `m${i}`;
    if (name === o.broken) {
      lines.push(`  ${name} = { ... }: {`, '    environment.etc.broken.text = noSuchVariable;', '  };');
      brokenLine = lines.length - 1;
    } else {
      lines.push(`  ${name} = { ... }: { };`);
    }
  }
  lines.push('}');
  const file = join(dir, 'network.nix');
  await writeFile(file, `${lines.join('\n')}\n`);
  const source: NetworkSource = { deployment: 'heavy', files: [file], args: {}, builder: 'mini' };
  return brokenLine === undefined ? { source, file } : { source, file, brokenLine };
}

export const machineNames = (n: number): string[] => Array.from({ length: n }, (_, i) => `m${i + 1}`);

interface Sample {
  rss: number;
  hwm: number;
}

async function sample(pid: number): Promise<Sample | undefined> {
  try {
    const text = await readFile(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) =>
      Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0) * 1024;
    return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
  } catch {
    return undefined;
  }
}

/** What a watched run of processes did: every PID, each one's peak RSS, the largest sum of those running at once. */
export class ProcessWatch {
  readonly pids: number[] = [];
  readonly peaks = new Map<number, number>();
  maxConcurrent = 0;
  maxConcurrentRss = 0;
  private readonly live = new Set<number>();
  private timer: NodeJS.Timeout | undefined;
  private busy = false;
  /** Called with each PID as its process starts. */
  onSpawn: ((pid: number) => void) | undefined;

  /** runProcess, with every process it starts watched. */
  readonly runner: Runner = (file, args, options = {}) => {
    const inner = options.onSpawn;
    let mine: number | undefined;
    return runProcess(file, args, {
      ...options,
      onSpawn: (pid) => {
        mine = pid;
        this.pids.push(pid);
        this.live.add(pid);
        this.maxConcurrent = Math.max(this.maxConcurrent, this.live.size);
        this.start();
        inner?.(pid);
        this.onSpawn?.(pid);
      },
    }).finally(() => {
      if (mine !== undefined) this.live.delete(mine);
    });
  };

  private start(): void {
    this.timer ??= setInterval(() => void this.tick(), 10);
  }

  private async tick(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    let sum = 0;
    for (const pid of [...this.live]) {
      const s = await sample(pid);
      if (s === undefined || s.rss === 0) continue;
      sum += s.rss;
      this.peaks.set(pid, Math.max(this.peaks.get(pid) ?? 0, s.hwm));
    }
    this.maxConcurrentRss = Math.max(this.maxConcurrentRss, sum);
    this.busy = false;
  }

  /** The largest peak of one process. */
  get maxPeak(): number {
    return Math.max(0, ...this.peaks.values());
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
