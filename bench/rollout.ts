// Benchmark: a configuration change rolled out to 20 local hosts by Reconix (reconcileDeployment, maxParallel 20)
// against a sequential loop of `nix-copy-closure --to` plus `ssh ... nix-env --set && switch-to-configuration`,
// and against the same commands run for every host at once by `xargs -P 20`; then no-op redeploys, which must copy
// and activate nothing (and, with the evaluation cache, evaluate nothing).
//
// Fairness: three identical deployments of N hosts each, one per side, all first deployed (version 1) by Reconix,
// so all start from the same state. Each round writes version k+1 to all, builds all beforehand (untimed), then
// times the rollouts one after the other, rotating which side goes first. Reconix's time is its whole
// process (Node's startup, evaluation of the network, observing hosts, copy, activation, state writes); the loop
// is handed the already evaluated system paths and pays for none of that.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SshEndpoint } from '../src/core/model.js';
import { parseHostRecord } from '../src/providers/local/index.js';
import { SYSTEM_PROFILE } from '../src/ssh/index.js';
import type { ReconcileReport } from '../src/report/report.js';
import { FileStateStore } from '../src/state/file-store.js';
import { shellJoin } from '../src/util/shell.js';
import { nixCopyClosure, parallelShellRollout, sshRun } from './support/baseline.js';
import { withMachineCpu } from './support/cpu.js';
import { BASE_CLOSURE, buildClosure } from './support/closure.js';
import { machineNames, writeNetwork } from './support/network.js';
import type { PhaseSummary } from './support/probe.js';
import { destroyDeployments } from './support/teardown.js';
import { intOption, median, option, seconds, timed } from './support/stats.js';

const HERE = dirname(fileURLToPath(import.meta.url));

export interface DeployResult {
  op: string;
  reconcileMs: number;
  processMs: number;
  setupMs: number;
  maxRssKiB: number;
  cpuMs: number;
  phases: Record<string, PhaseSummary>;
  report: ReconcileReport;
  /** Wall time seen from here: spawning the process until it exited. */
  wallMs: number;
}

interface Deployment {
  name: string;
  manifest: string;
  dir: string;
}

interface HostInfo {
  machine: string;
  endpoint: SshEndpoint;
  dir: string;
  pid: number;
}

/** Run one reconcile in a child process (bench/deploy-once.js) and read its result. */
async function reconix(
  d: Deployment,
  stateDir: string,
  op: 'deploy' | 'plan' | 'prebuild',
): Promise<DeployResult> {
  // Beside the network's directory, not in it: a file there would change the evaluation cache's key.
  const out = join(dirname(d.dir), `result-${d.name}-${op}.json`);
  await rm(out, { force: true });
  const args = [
    join(HERE, 'deploy-once.js'),
    '--manifest',
    d.manifest,
    '--state',
    stateDir,
    '--op',
    op,
    '--out',
    out,
  ];
  const { value: code, ms } = await timed(
    () =>
      new Promise<number | null>((resolve, reject) => {
        const child = spawn(process.execPath, args, { stdio: ['ignore', 'inherit', 'inherit'] });
        child.once('error', reject);
        child.once('exit', (c) => resolve(c));
      }),
  );
  const text = await readFile(out, 'utf8').catch(() => undefined);
  if (text === undefined) throw new Error(`reconix ${op} of ${d.name} exited with ${code} and no result`);
  const result = JSON.parse(text) as Omit<DeployResult, 'wallMs'>;
  if (code !== 0) throw new Error(`reconix ${op} of ${d.name} failed: ${result.report.message}`);
  return { ...result, wallMs: ms };
}

async function hostsOf(stateDir: string, name: string): Promise<HostInfo[]> {
  const state = await new FileStateStore(stateDir).read(name);
  return Object.entries(state.machines)
    .map(([machine, rec]) => {
      const target = parseHostRecord(rec.target);
      if (!target?.pid || !rec.endpoint) throw new Error(`${name}/${machine} has no running host recorded`);
      return { machine, endpoint: rec.endpoint, dir: target.dir, pid: target.pid };
    })
    .sort((a, b) => a.machine.localeCompare(b.machine));
}

async function currentSystem(h: HostInfo): Promise<string> {
  return readlink(`/proc/${h.pid}/root/run/current-system`).catch(() => '');
}

async function activationLines(h: HostInfo): Promise<number> {
  const text = await readFile(join(h.dir, 'nix/var/reconix/activations.log'), 'utf8').catch(() => '');
  return text.split('\n').filter(Boolean).length;
}

/** Every host runs the system it should. */
async function assertRunning(hosts: HostInfo[], systems: Record<string, string>, who: string): Promise<void> {
  for (const h of hosts) {
    const now = await currentSystem(h);
    if (now !== systems[h.machine])
      throw new Error(`${who}: ${h.machine} runs ${now}, not ${systems[h.machine]}`);
  }
}

function systemsOf(report: ReconcileReport): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [m, r] of Object.entries(report.machines)) if (r.system) out[m] = r.system;
  return out;
}

/** The baseline: for each host in turn, nix-copy-closure, then set the profile and switch, over ssh. */
async function loopRollout(keyFile: string, hosts: HostInfo[], systems: Record<string, string>) {
  const perHost: { machine: string; copyMs: number; activateMs: number }[] = [];
  const { ms } = await timed(async () => {
    for (const h of hosts) {
      const system = systems[h.machine]!;
      const copy = await timed(() => nixCopyClosure(keyFile, h.endpoint, system));
      const set = shellJoin(['nix-env', '-p', SYSTEM_PROFILE, '--set', system]);
      const sw = shellJoin([`${system}/bin/switch-to-configuration`, 'switch']);
      const act = await timed(() => sshRun(keyFile, h.endpoint, `${set} && ${sw}`));
      perHost.push({ machine: h.machine, copyMs: copy.ms, activateMs: act.ms });
    }
  });
  return { ms, perHost };
}

/** How many evaluations of a reconcile reached Nix (past the evaluation cache). */
function nixEvaluations(r: DeployResult): number {
  return (r.phases['nix.eval.physical']?.calls ?? 0) + (r.phases['nix.eval.systems']?.calls ?? 0);
}

/** The reconcile's timeline: per kind of call, how many, and from when to when (seconds into the reconcile). */
function phaseLine(phases: Record<string, PhaseSummary>): string {
  const s = (ms: number): string => (ms / 1000).toFixed(2);
  return Object.entries(phases)
    .filter(([k]) => !k.startsWith('state.acquire') && !k.startsWith('state.release'))
    .sort((a, b) => a[1].fromMs - b[1].fromMs)
    .map(([k, p]) => `${k} ${p.calls}x ${s(p.fromMs)}-${s(p.toMs)}`)
    .join(', ');
}

async function main(): Promise<void> {
  const rounds = intOption('iterations', 3);
  const noops = intOption('noop', 3);
  const count = intOption('hosts', 20);
  const maxParallel = intOption('max-parallel', count);
  const jsonOut = option('json', '');
  const machines = machineNames(count);
  await buildClosure(BASE_CLOSURE);

  const dir = await mkdtemp(join(tmpdir(), 'reconix-bench-rollout-'));
  const stateDir = join(dir, 'state');
  const rx: Deployment = { name: 'bench-rx', dir: join(dir, 'bench-rx'), manifest: '' };
  const loop: Deployment = { name: 'bench-loop', dir: join(dir, 'bench-loop'), manifest: '' };
  const par: Deployment = { name: 'bench-par', dir: join(dir, 'bench-par'), manifest: '' };
  const both = [rx, loop, par];
  const write = async (version: number): Promise<void> => {
    for (const d of both) d.manifest = await writeNetwork(d.dir, d.name, machines, version, maxParallel);
  };
  const stop = async (): Promise<void> => {
    await destroyDeployments(
      stateDir,
      both.map((d) => d.name),
    );
    await rm(dir, { recursive: true, force: true });
  };
  const onSignal = (): void => void stop().finally(() => process.exit(130));
  process.once('SIGINT', onSignal).once('SIGTERM', onSignal);

  const rxRuns: (DeployResult & { machineCpuMs: number })[] = [];
  const loopRuns: {
    ms: number;
    machineCpuMs: number;
    perHost: { machine: string; copyMs: number; activateMs: number }[];
  }[] = [];
  const parRuns: { ms: number; machineCpuMs: number }[] = [];
  const noopRuns: DeployResult[] = [];
  try {
    // Version 1 everywhere, by Reconix: both sides start from the same state.
    console.log(
      `rollout: ${count} hosts per side, maxParallel ${maxParallel}, ${rounds} rounds, ${noops} no-op redeploys`,
    );
    await write(1);
    for (const d of both) {
      await reconix(d, stateDir, 'prebuild');
      const first = await reconix(d, stateDir, 'deploy');
      console.log(`  initial deploy of ${d.name} (version 1, untimed): ${seconds(first.wallMs)}`);
    }
    const keyFile = join(stateDir, 'keys', 'client_ed25519');
    const rxHosts = await hostsOf(stateDir, rx.name);
    const loopHosts = await hostsOf(stateDir, loop.name);
    const parHosts = await hostsOf(stateDir, par.name);

    for (let round = 1; round <= rounds; round++) {
      const version = round + 1;
      await write(version);
      await reconix(rx, stateDir, 'prebuild');
      const loopSystems = systemsOf((await reconix(loop, stateDir, 'prebuild')).report);
      const parSystems = systemsOf((await reconix(par, stateDir, 'prebuild')).report);
      const runRx = async () => {
        const m = await withMachineCpu(() => reconix(rx, stateDir, 'deploy'));
        return { ...m.value, machineCpuMs: m.cpuMs };
      };
      const runLoop = async () => {
        const m = await withMachineCpu(() => loopRollout(keyFile, loopHosts, loopSystems));
        return { ...m.value, machineCpuMs: m.cpuMs };
      };
      const runPar = async () => {
        const targets = parHosts.map((h) => ({ endpoint: h.endpoint, system: parSystems[h.machine]! }));
        const m = await withMachineCpu(() =>
          timed(() => parallelShellRollout(keyFile, targets, count, SYSTEM_PROFILE)),
        );
        return { ms: m.value.ms, machineCpuMs: m.cpuMs };
      };
      // Rotate which side goes first, so that none always meets a machine another just warmed or tired.
      const order = [0, 1, 2].map((i) => (i + round - 1) % 3);
      const out: [unknown, unknown, unknown] = [undefined, undefined, undefined];
      for (const i of order) out[i] = await [runRx, runLoop, runPar][i]!();
      const [r, l, pl] = out as [
        Awaited<ReturnType<typeof runRx>>,
        Awaited<ReturnType<typeof runLoop>>,
        Awaited<ReturnType<typeof runPar>>,
      ];
      await assertRunning(loopHosts, loopSystems, 'loop');
      await assertRunning(parHosts, parSystems, 'parallel shell');
      await assertRunning(rxHosts, systemsOf(r.report), 'reconix');
      const ms = Object.values(r.report.machines);
      const activated = ms.filter((m) => m.outcome === 'activated' && (m.copied?.paths ?? 0) >= 2).length;
      if (activated !== count || ms.some((m) => m.built)) {
        throw new Error(`reconix round ${round}: ${activated} of ${count} hosts copied and activated`);
      }
      rxRuns.push(r);
      loopRuns.push(l);
      parRuns.push(pl);
      const copied = ms.reduce((t, m) => t + (m.copied?.bytes ?? 0), 0);
      console.log(
        `  round ${round} (version ${version}): reconix ${seconds(r.wallMs)} (reconcile ${seconds(r.reconcileMs)}, ` +
          `copied ${(copied / 1e6).toFixed(1)} MB, maxRSS ${(r.maxRssKiB / 1024).toFixed(0)} MiB, ` +
          `machine CPU ${seconds(r.machineCpuMs)})   ` +
          `loop ${seconds(l.ms)} (nix-copy-closure ${seconds(median(l.perHost.map((h) => h.copyMs)))}/host, ` +
          `ssh activate ${seconds(median(l.perHost.map((h) => h.activateMs)))}/host, ` +
          `machine CPU ${seconds(l.machineCpuMs)})   ` +
          `xargs -P ${count} ${seconds(pl.ms)} (machine CPU ${seconds(pl.machineCpuMs)})`,
      );
      console.log(`    reconix phases: ${phaseLine(r.phases)}`);
    }

    // No-op redeploys: nothing may be copied or activated, by the report and by the hosts' own records.
    for (let i = 1; i <= noops; i++) {
      const before = await Promise.all(rxHosts.map(activationLines));
      const r = await reconix(rx, stateDir, 'deploy');
      const after = await Promise.all(rxHosts.map(activationLines));
      const acting = r.report.plan.actions.filter((a) => a.kind !== 'report-drift');
      const touched = Object.values(r.report.machines).filter(
        (m) => m.outcome !== 'unchanged' || (m.copied?.paths ?? 0) > 0 || m.built,
      );
      const changedHosts = rxHosts.filter((_, j) => before[j] !== after[j]).map((h) => h.machine);
      const imports = r.phases['host.importPaths']?.calls ?? 0;
      const switches = r.phases['host.switchTo']?.calls ?? 0;
      if (acting.length > 0 || touched.length > 0 || changedHosts.length > 0 || imports + switches > 0) {
        throw new Error(
          `no-op redeploy ${i} changed something: ${acting.length} actions, ${touched.length} machines, ` +
            `activation logs grew on [${changedHosts.join(' ')}], ${imports} imports, ${switches} switches`,
        );
      }
      noopRuns.push(r);
      const evaluations = nixEvaluations(r);
      console.log(
        `  no-op ${i}: ${seconds(r.wallMs)} (reconcile ${seconds(r.reconcileMs)}); 0 actions, ` +
          `0 copies, 0 activations, ${count} activation logs unchanged, ${evaluations} Nix evaluations`,
      );
      console.log(`    reconix phases: ${phaseLine(r.phases)}`);
    }
  } finally {
    process.removeListener('SIGINT', onSignal).removeListener('SIGTERM', onSignal);
    await stop();
  }

  const rxMs = median(rxRuns.map((r) => r.wallMs));
  const loopMs = median(loopRuns.map((l) => l.ms));
  const speedup = loopMs / rxMs;
  const parMs = median(parRuns.map((l) => l.ms));
  const parallelSpeedup = parMs / rxMs;
  const result = {
    bench: 'rollout',
    hosts: count,
    maxParallel,
    iterations: rounds,
    reconix: {
      medianWallMs: rxMs,
      medianReconcileMs: median(rxRuns.map((r) => r.reconcileMs)),
      maxRssKiB: Math.max(...rxRuns.map((r) => r.maxRssKiB)),
      medianMachineCpuMs: median(rxRuns.map((r) => r.machineCpuMs)),
      runs: rxRuns.map(({ report: _r, ...rest }) => rest),
    },
    loop: {
      medianMs: loopMs,
      medianMachineCpuMs: median(loopRuns.map((l) => l.machineCpuMs)),
      runs: loopRuns,
    },
    parallel: {
      medianMs: parMs,
      medianMachineCpuMs: median(parRuns.map((l) => l.machineCpuMs)),
      runs: parRuns,
    },
    speedup,
    target: 5,
    parallelSpeedup,
    parallelTarget: 1.5,
    met: speedup >= 5 && parallelSpeedup >= 1.5,
    noop: {
      iterations: noops,
      medianWallMs: median(noopRuns.map((r) => r.wallMs)),
      medianReconcileMs: median(noopRuns.map((r) => r.reconcileMs)),
      copied: 0,
      activated: 0,
      nixEvaluations: Math.max(...noopRuns.map(nixEvaluations)),
      runs: noopRuns.map(({ report: _r, ...rest }) => rest),
    },
  };
  console.log(
    `rollout: reconix median ${seconds(rxMs)} (peak RSS ${(result.reconix.maxRssKiB / 1024).toFixed(0)} MiB), ` +
      `sequential loop median ${seconds(loopMs)}: ${speedup.toFixed(1)}x faster (target >= 5x), ` +
      `xargs -P ${count} median ${seconds(parMs)}: ${parallelSpeedup.toFixed(1)}x faster (target >= 1.5x) ` +
      (result.met ? 'MET' : 'NOT MET'),
  );
  console.log(
    `no-op redeploy of ${count} hosts: median ${seconds(result.noop.medianWallMs)} ` +
      `(reconcile ${seconds(result.noop.medianReconcileMs)}), nothing copied, nothing activated, ` +
      `${result.noop.nixEvaluations} Nix evaluations`,
  );
  if (jsonOut) await writeFile(jsonOut, JSON.stringify(result, null, 2) + '\n');
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exitCode = 1;
});
