// Evaluation of a network's systems as it grows, with the Nix library of this tree against that of an earlier
// revision (the baseline), side by side: one nix-instantiate of the machines' systems (derivations written, as a
// deploy does), its wall time and peak RSS. The fleet is the scale benchmark's (bench/support/fleet.ts), with the
// facts a deploy injects: every machine's address and host key, so that each machine's /etc/hosts and known hosts
// list the whole network.
//   node dist/bench/eval-scale.js [--sizes 100,300,1000] [--baseline REV] [--baseline-max 300] [--json FILE]
// The baseline's cost grew as N^2 (N known-hosts entries in each of N machines): above --baseline-max it evaluates
// a tenth of the machines (each still lists the whole network), and is printed as such.
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { InfraFacts } from '../src/core/model.js';
import { instantiateArgs, NIX_DIR } from '../src/evaluate/evaluator.js';
import { watchPeak } from '../src/evaluate/peak-rss.js';
import { runProcess } from '../src/util/exec.js';
import { fleetNames, writeFleet } from './support/fleet.js';
import { intOption, megabytes, option, seconds, timed } from './support/stats.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
const HOST_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGx0bWq0nS0W6tW9m1b1QOjh1m2KZ4YxXJ1m4ZqK5eWm';

interface Run {
  nix: string;
  machines: number;
  evaluated: number;
  ms: number;
  peakBytes: number | undefined;
}

function facts(names: readonly string[]): InfraFacts {
  const machines: InfraFacts['machines'] = {};
  names.forEach((n, i) => {
    machines[n] = {
      privateIPv4: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
      hostPublicKey: HOST_KEY,
    };
  });
  return { machines, resources: {} };
}

/** The baseline's nix/ directory, extracted from git into `into`. */
function baselineNix(rev: string, into: string): string {
  const tar = execFileSync('git', ['-C', ROOT, 'archive', '--format=tar', rev, 'nix'], {
    maxBuffer: 1 << 28,
  });
  execFileSync('tar', ['-x', '-C', into], { input: tar });
  return join(into, 'nix');
}

/** One nix-instantiate of the first `evaluated` machines' systems of a fleet of `n`, as the evaluator runs it. */
async function evaluate(
  nixDir: string,
  scratch: string,
  n: number,
  evaluated: number,
): Promise<Omit<Run, 'nix'>> {
  const names = fleetNames(n);
  const dir = await mkdtemp(join(scratch, `fleet-${n}-`));
  try {
    const manifest = await writeFleet(dir, 'eval-scale', names, 'local', 50);
    const net = dirname(manifest);
    // The baseline's nix/ takes the same arguments: the evaluator's own list of them.
    const src = {
      deployment: 'eval-scale',
      files: [join(net, 'network.nix'), join(net, 'physical.nix')],
      args: {},
      builder: 'mini' as const,
    };
    const args = await instantiateArgs(nixDir, dir, src, 'systems', {
      writeDerivations: true,
      facts: facts(names),
      only: names.slice(0, evaluated),
    });
    let watch: ReturnType<typeof watchPeak> | undefined;
    const { value: r, ms } = await timed(() =>
      runProcess('nix-instantiate', args, {
        timeoutMs: 3_600_000,
        onSpawn: (pid) => (watch = watchPeak(pid)),
      }),
    );
    const peakBytes = await watch?.stop();
    if (r.exitCode !== 0) throw new Error(`nix-instantiate failed: ${r.stderr.slice(-2000)}`);
    const systems = Object.keys(JSON.parse(r.stdout) as object).length;
    if (systems !== evaluated) throw new Error(`${systems} systems, not ${evaluated}`);
    return { machines: n, evaluated, ms, peakBytes };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const sizes = option('sizes', '100,300,1000').split(',').map(Number);
  const rev = option('baseline', 'a9684ed');
  const baselineMax = intOption('baseline-max', 300);
  const scratch = await mkdtemp(join(tmpdir(), 'reconix-bench-eval-scale-'));
  const runs: Run[] = [];
  try {
    await mkdir(join(scratch, 'baseline'));
    const baseline = baselineNix(rev, join(scratch, 'baseline'));
    console.log(`load average ${loadavg()[0]!.toFixed(2)}; baseline: nix/ of ${rev}`);
    for (const n of sizes) {
      for (const [nix, dir, evaluated] of [
        ['current', NIX_DIR, n],
        [`baseline ${rev}`, baseline, n > baselineMax ? Math.ceil(n / 10) : n],
      ] as const) {
        const run = { nix, ...(await evaluate(dir, scratch, n, evaluated)) };
        runs.push(run);
        const what = evaluated === n ? `${n} machines` : `${evaluated} of ${n} machines`;
        const peak = run.peakBytes === undefined ? 'peak unknown' : `peak ${megabytes(run.peakBytes)}`;
        console.log(`N=${n} ${nix.padEnd(18)} ${what}: ${seconds(run.ms)}, ${peak}`);
      }
      const [cur, base] = runs.slice(-2) as [Run, Run];
      const perCur = cur.ms / cur.evaluated;
      const perBase = base.ms / base.evaluated;
      console.log(
        `N=${n} per machine: current ${perCur.toFixed(1)} ms, baseline ${perBase.toFixed(1)} ms (${(perBase / perCur).toFixed(1)}x)`,
      );
    }
    const json = option('json', '');
    if (json) await writeFile(json, JSON.stringify({ baseline: rev, runs }, null, 2) + '\n');
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

await main();
