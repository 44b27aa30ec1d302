// What a change costs to evaluate, through the evaluation cache as a reconcile asks it (the physical view, then the
// systems), restricted (Nix names what each machine read: only the machines that read the change are evaluated)
// beside unrestricted (any change evaluates every machine), side by side on the same fleet. The fleet is the scale
// benchmark's (bench/support/fleet.ts): each machine reads its own version file, so that a change of one machine's
// version touches that machine's evaluation only; with the facts a deploy injects (addresses and host keys).
// Per step: wall time of the two calls, the Nix processes started and the machines whose systems were evaluated.
//   node dist/bench/eval-changes.js [--sizes 100,1000] [--json FILE]
// Steps: first (empty cache), noop (nothing changed), one (one machine's version), ten (ten machines' versions),
// all (a file every machine reads: the network file), and again one and ten, as later changes of the same kind.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { InfraFacts } from '../src/core/model.js';
import type { Logger, NetworkSource } from '../src/core/ports.js';
import { CachingEvaluator } from '../src/evaluate/cache.js';
import { NixEvaluator } from '../src/evaluate/evaluator.js';
import { NixLocalStore } from '../src/nixstore/store.js';
import { runProcess, type Runner } from '../src/util/exec.js';
import { fleetNames, writeFleet, writeVersions } from './support/fleet.js';
import { option, seconds } from './support/stats.js';

const HOST_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGx0bWq0nS0W6tW9m1b1QOjh1m2KZ4YxXJ1m4ZqK5eWm';
const STEPS = ['first', 'noop', 'one', 'ten', 'all', 'one again', 'ten again'] as const;

interface Step {
  step: (typeof STEPS)[number];
  ms: number;
  nixProcesses: number;
  machinesEvaluated: number;
}

function facts(names: readonly string[]): InfraFacts {
  const machines: InfraFacts['machines'] = {};
  names.forEach((n, i) => {
    machines[n] = { privateIPv4: `10.0.${(i >> 8) & 255}.${i & 255}`, hostPublicKey: HOST_KEY };
  });
  return { machines, resources: {} };
}

async function run(n: number, restricted: boolean): Promise<Step[]> {
  const dir = await mkdtemp(join(tmpdir(), 'reconix-eval-changes-'));
  try {
    const net = join(dir, 'net');
    const names = fleetNames(n);
    await writeFleet(net, 'fleet', names, 'local', 50);
    const src: NetworkSource = {
      deployment: 'fleet',
      files: [join(net, 'network.nix'), join(net, 'physical.nix')],
      root: net,
      args: {},
      builder: 'mini',
    };
    let processes = 0;
    let evaluated = 0;
    // Every nix-instantiate of systems, and the machines it was given.
    const counting: Runner = async (cmd, args, opts) => {
      if (cmd !== 'nix-instantiate' || args.includes('--version')) return runProcess(cmd, args, opts);
      processes++;
      const only = args.indexOf('onlyFile');
      if (args[args.indexOf('-A') + 1] === 'systems' && only >= 0) {
        const batch = JSON.parse(await readFile(args[only + 1]!, 'utf8')) as string[];
        evaluated += batch.length;
      }
      return runProcess(cmd, args, opts);
    };
    const quiet: Logger = { info: () => undefined, warn: () => undefined, error: () => undefined };
    const cache = new CachingEvaluator(
      new NixEvaluator({ scratchDir: join(dir, 'scratch'), runner: counting, restrictEval: restricted }),
      { dir: join(dir, 'cache'), store: new NixLocalStore(), log: quiet, runner: counting },
    );
    const f = facts(names);
    const steps: Step[] = [];
    let version = 1;
    for (const step of STEPS) {
      if (step.startsWith('one')) await writeVersions(net, { [names[0]!]: ++version });
      if (step.startsWith('ten')) {
        version++;
        await writeVersions(net, Object.fromEntries(names.slice(10, 20).map((m) => [m, version])));
      }
      if (step === 'all') {
        const file = join(net, 'network.nix');
        await writeFile(file, `${await readFile(file, 'utf8')}# a change every machine reads\n`);
      }
      processes = 0;
      evaluated = 0;
      const started = performance.now();
      await cache.physical(src);
      await cache.systems(src, f, names);
      steps.push({
        step,
        ms: performance.now() - started,
        nixProcesses: processes,
        machinesEvaluated: evaluated,
      });
    }
    return steps;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const sizes = option('sizes', '100,1000').split(',').map(Number);
  const jsonOut = option('json', '');
  const results: Record<string, { restricted: Step[]; unrestricted: Step[] }> = {};
  console.log(
    `load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
  for (const n of sizes) {
    // Side by side: the unrestricted run first, then the restricted one, on fleets of their own.
    const unrestricted = await run(n, false);
    const restricted = await run(n, true);
    results[n] = { restricted, unrestricted };
    console.log(
      `N=${n}: step | restricted: wall, Nix processes, machines evaluated | unrestricted: the same | ratio`,
    );
    for (let i = 0; i < STEPS.length; i++) {
      const r = restricted[i]!;
      const u = unrestricted[i]!;
      const ratio = r.ms > 0 ? (u.ms / r.ms).toFixed(2) : '-';
      console.log(
        `  ${r.step.padEnd(9)} | ${seconds(r.ms)}, ${r.nixProcesses}, ${r.machinesEvaluated} | ` +
          `${seconds(u.ms)}, ${u.nixProcesses}, ${u.machinesEvaluated} | ${ratio}x`,
      );
    }
  }
  if (jsonOut) await writeFile(jsonOut, JSON.stringify({ loadavg: loadavg(), results }, null, 2) + '\n');
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
