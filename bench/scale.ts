// Benchmark: one controller and a fleet of N machines (10, 100, 300, 1,000 by default). For each N, four
// reconciles, each a process of its own (bench/deploy-once.js, the CLI's deps): the first deploy, a no-op resync,
// a change of one machine, a change of ten. Per reconcile: wall time, the controller's CPU, peak RSS of the
// controller and of the Nix processes under it (sampled from /proc), SSH connections opened (every connect call
// of the reconcile's connector) and AWS calls. Before the fleets, what one local host costs (start time, sshd's
// RSS, disk), so that the largest fleet can be checked against the machine.
//   node dist/bench/scale.js [--sizes 10,100,300,1000] [--target local|ec2] [--max-parallel 50]
//     [--resources K] [--ops first,noop,one,ten] [--evaluation-timeout 600] [--cpu-prof DIR] [--json FILE]
//     [--address-prefix 127.79] [--node-flags "FLAGS" (default: the flags of src/cli/node-flags.ts)] [--resident]
//     [--node-env "NAME=VALUE ..." (default: the environment of src/cli/node-flags.ts)]
//     [--restrict-eval]
// `--resident`: the four reconciles of a fleet run one after the other in ONE process (deploy-once.js --resident)
// with the deps of `reconix controller`, which keeps SSH connections open between them: the no-op resync reuses
// the connections of the first deploy. An op's wall time is then from its command to the process's answer, its
// SSH figures the handshakes made (`ssh`) and the connections reused (`reused`), and the controller's maxRSS the
// process's peak so far.
// `--restrict-eval`: the controller evaluates in Nix's restricted mode (as `reconix --restrict-eval` and Kubernetes
// mode do), where Nix names what each machine's evaluation read: a change re-evaluates the machines that read it.
// `--target ec2` runs the machines as ec2 instances in moto, each bound (address override) to a bench host made
// beforehand: the AWS calls are the ec2 target's and the resource pass's, the SSH traffic reaches real hosts.
// `--resources K` adds K security groups (in moto) to every fleet, whichever the target.
// `--address-prefix P`: the bench's hosts listen on P.x.y, so that two runs of the bench never share addresses.
// Every host is stopped by PID and its directory removed at the end, also on SIGINT/SIGTERM.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pLimit from 'p-limit';
import { NODE_FLAGS, nodeEnvWords } from '../src/cli/node-flags.js';
import { parseHostRecord } from '../src/providers/local/index.js';
import { FileStateStore } from '../src/state/file-store.js';
import { MOTO_ENV, startMoto, type Moto } from '../test/support/moto.js';
import { withMachineCpu } from './support/cpu.js';
import { diskBytes, hostCost, rssKiB } from './support/hostcost.js';
import { fleetNames, writeFleet, writeVersions, type FleetTarget } from './support/fleet.js';
import {
  BENCH_ADDRESS_PREFIX,
  BenchHosts,
  benchProvider,
  destroyHostsUnder,
  type BenchHost,
} from './support/hosts.js';
import { sampleTree, stillRunning, stopTree, treeCpuMs, type TreePeaks } from './support/proctree.js';
import type { PhaseSummary } from './support/probe.js';
import { ResidentController } from './support/resident.js';
import { destroyDeployments } from './support/teardown.js';
import { intOption, option, timed } from './support/stats.js';

const HERE = dirname(fileURLToPath(import.meta.url));
/** Node's flags for each reconcile: those Reconix ships with, unless --node-flags gives others ("" for none). */
const nodeFlags = (): string[] => option('node-flags', NODE_FLAGS.join(' ')).split(' ').filter(Boolean);

/** The environment of each reconcile: the bench's, with Reconix's own (node-flags.ts) or --node-env's ("" for none). */
function nodeEnv(): NodeJS.ProcessEnv {
  const words = option('node-env', nodeEnvWords().join(' ')).split(' ').filter(Boolean);
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const w of words) {
    const eq = w.indexOf('=');
    if (eq <= 0) throw new Error(`--node-env: ${JSON.stringify(w)} is not NAME=VALUE`);
    env[w.slice(0, eq)] = w.slice(eq + 1);
  }
  return env;
}
const OPS = ['first', 'noop', 'one', 'ten'] as const;
const PREFIX = option('address-prefix', BENCH_ADDRESS_PREFIX);
const RESIDENT = process.argv.includes('--resident');
type Op = (typeof OPS)[number];

export interface OpFigures {
  n: number;
  op: Op;
  wallMs: number;
  reconcileMs: number;
  controllerCpuMs: number;
  machineCpuMs: number;
  controllerMaxRssKiB: number;
  /** A resident controller's memory at its highest resident size so far: V8's spaces and what is outside them. */
  controllerMemoryAtPeak?: Record<string, number>;
  /** CPU of the hosts' sshd and what ran in their sessions (observe scripts, nix-store, activations). */
  hostsCpuMs: number;
  peaks: TreePeaks;
  /** Connections opened (handshakes); a resident controller's reused ones are `sshReused`. */
  sshConnections: number;
  sshReused?: number;
  awsCalls: number;
  awsCallsByCommand: Record<string, number>;
  nixEvaluations: number;
  /** Machines whose systems were evaluated again, when the evaluation was restricted and something changed. */
  machinesEvaluated?: number;
  copies: number;
  activations: number;
  phases: Record<string, PhaseSummary>;
}

interface Once {
  reconcileMs: number;
  maxRssKiB: number;
  cpuMs: number;
  awsCalls: number;
  awsCallsByCommand: Record<string, number>;
  phases: Record<string, PhaseSummary>;
  /** Written by a resident controller only. */
  sshOpened?: number;
  sshReused?: number;
  machinesEvaluated?: number;
  memoryAtPeak?: Record<string, number>;
  report: { ok: boolean; message?: string };
}

interface Fleet {
  n: number;
  dir: string;
  stateDir: string;
  manifest: string;
  aws?: { endpoint: string; addressMap: string };
  /** The fleet's resident controller (--resident), started before its first reconcile. */
  resident?: ResidentController;
}

const calls = (phases: Record<string, PhaseSummary>, k: string): number => phases[k]?.calls ?? 0;

/** The reconcile process running now, stopped with its Nix processes when the bench is interrupted. */
let running: number | undefined;

/** Node's arguments of a reconcile process, `name` for its CPU profile (the controller as shipped). */
function onceArgs(f: Fleet, cpuProf: string, name: string): string[] {
  const prof = cpuProf
    ? ['--cpu-prof', '--cpu-prof-dir', cpuProf, '--cpu-prof-name', `${name}.cpuprofile`]
    : [];
  const args = [...nodeFlags(), ...prof, join(HERE, 'deploy-once.js'), '--manifest', f.manifest];
  args.push('--state', f.stateDir, '--op', 'deploy', '--max-parallel', option('max-parallel', '50'));
  args.push('--evaluation-timeout', option('evaluation-timeout', '600'), '--address-prefix', PREFIX);
  if (f.aws) args.push('--aws-endpoint', f.aws.endpoint, '--address-map', f.aws.addressMap);
  if (process.argv.includes('--restrict-eval')) args.push('--restrict-eval');
  return args;
}

/** A reconcile of the fleet's resident controller, its tree sampled meanwhile: the peaks once it is done. */
async function residentOp(r: ResidentController, out: string): Promise<TreePeaks> {
  const sampler = sampleTree(r.pid ?? -1);
  const done = r.deploy(out);
  // Sampled until the end either way: a failed reconcile must not leave the sampler running.
  await done.catch(() => undefined);
  const peaks = await sampler.stop();
  await done;
  return peaks;
}

/** One reconcile in a child process (or the fleet's resident controller), its tree sampled while it runs. */
async function reconcile(
  f: Fleet,
  op: Op,
  cpuProf: string,
  hosts: () => Promise<number[]>,
): Promise<OpFigures> {
  const hostsBefore = await treeCpuMs(await hosts());
  const out = join(f.dir, `result-${op}.json`);
  await rm(out, { force: true });
  let peaks: TreePeaks | undefined;
  const resident = f.resident;
  const { value, cpuMs: machineCpuMs } = await withMachineCpu(() =>
    timed(async () => {
      if (resident) return residentOp(resident, out).then((p) => ((peaks = p), 0));
      return new Promise<number | null>((resolve, reject) => {
        // The controller as shipped: with the Node flags of the binary and the container (or --node-flags).
        const args = [...onceArgs(f, cpuProf, `n${f.n}-${op}`), '--out', out];
        const child = spawn(process.execPath, args, {
          stdio: ['ignore', 'inherit', 'inherit'],
          env: nodeEnv(),
        });
        running = child.pid;
        const sampler = sampleTree(child.pid ?? -1);
        child.once('error', reject);
        child.once('exit', (c) => {
          running = undefined;
          void sampler.stop().then((p) => ((peaks = p), resolve(c)));
        });
      });
    }),
  );
  const text = await readFile(out, 'utf8').catch(() => undefined);
  if (text === undefined) throw new Error(`N=${f.n} ${op}: exited with ${value.value} and no result`);
  const r = JSON.parse(text) as Once;
  if (value.value !== 0 || !r.report.ok) throw new Error(`N=${f.n} ${op} failed: ${r.report.message}`);
  const hostsCpuMs = (await treeCpuMs(await hosts())) - hostsBefore;
  return {
    n: f.n,
    op,
    wallMs: value.ms,
    reconcileMs: r.reconcileMs,
    controllerCpuMs: r.cpuMs,
    machineCpuMs,
    controllerMaxRssKiB: r.maxRssKiB,
    ...(r.memoryAtPeak ? { controllerMemoryAtPeak: r.memoryAtPeak } : {}),
    hostsCpuMs,
    peaks: peaks!,
    // A resident controller's connect calls are also those its kept connections served: the handshakes are fewer.
    sshConnections: resident ? (r.sshOpened ?? 0) : calls(r.phases, 'host.connect'),
    ...(resident ? { sshReused: r.sshReused ?? 0 } : {}),
    awsCalls: r.awsCalls,
    awsCallsByCommand: r.awsCallsByCommand,
    // Every call that reached Nix: a restricted evaluation's parts too (names, host entries, ...).
    nixEvaluations: Object.keys(r.phases)
      .filter((k) => k.startsWith('nix.eval.'))
      .reduce((sum, k) => sum + calls(r.phases, k), 0),
    ...(r.machinesEvaluated === undefined ? {} : { machinesEvaluated: r.machinesEvaluated }),
    copies: calls(r.phases, 'host.importPaths'),
    activations: calls(r.phases, 'host.switchTo'),
    phases: r.phases,
  };
}

/** The sshd PIDs the fleet's state records (local hosts) or the bench made (ec2). */
async function fleetPids(f: Fleet, made: BenchHost[]): Promise<number[]> {
  const state = await new FileStateStore(f.stateDir).read(`scale-${f.n}`).catch(() => undefined);
  const recorded = Object.values(state?.machines ?? {}).map((m) => parseHostRecord(m.target)?.pid);
  const bench = made.map((h) => parseHostRecord(h.record)?.pid);
  return [...recorded, ...bench].filter((p): p is number => p !== undefined);
}

async function runFleet(
  n: number,
  target: FleetTarget,
  moto: Moto | undefined,
  cpuProf: string,
  ops: readonly Op[],
) {
  const dir = await mkdtemp(join(tmpdir(), `reconix-bench-scale-${n}-`));
  const stateDir = join(dir, 'state');
  const name = `scale-${n}`;
  const machines = fleetNames(n);
  const netDir = join(dir, 'net');
  const resources = Number(option('resources', '0'));
  const maxParallel = Number(option('max-parallel', '50'));
  const manifest = await writeFleet(netDir, name, machines, target, maxParallel, resources);
  const fleet: Fleet = { n, dir, stateDir, manifest };
  const made: BenchHost[] = [];
  let benchHosts: BenchHosts | undefined;
  const figures: OpFigures[] = [];
  const extra: Record<string, number> = {};
  let tornDown: Promise<void> | undefined;
  // Once, whether the run ends, fails or is interrupted (the signal and the failing reconcile both get here).
  const teardown = (): Promise<void> => (tornDown ??= removeAll());
  const removeAll = async (): Promise<void> => {
    const pids = await fleetPids(fleet, made);
    // With moto, a destroy would reach for the cloud resources too: the hosts are swept by PID, moto is reset.
    // Otherwise the deployment's own destroy stops them.
    if (moto)
      await destroyHostsUnder(benchProvider(join(stateDir, 'hosts'), PREFIX), join(stateDir, 'hosts'));
    else await destroyDeployments(stateDir, [name], PREFIX);
    await benchHosts?.destroyAll();
    const left = await stillRunning(pids);
    if (left.length > 0) console.error(`N=${n}: sshd processes left behind: ${left.join(' ')}`);
    extra.leftBehind = left.length;
    await rm(dir, { recursive: true, force: true });
  };
  const onSignal = (): void =>
    void (running === undefined ? Promise.resolve() : stopTree(running))
      .then(teardown)
      .catch((err: unknown) => console.error(`N=${n}: the teardown failed: ${(err as Error).message}`))
      .finally(() => process.exit(130));
  process.once('SIGINT', onSignal).once('SIGTERM', onSignal);
  try {
    if (moto) {
      await moto.reset();
      fleet.aws = { endpoint: moto.endpoint, addressMap: join(dir, 'address-map.json') };
      await writeFile(fleet.aws.addressMap, '{}');
    }
    if (moto && target === 'ec2') {
      benchHosts = await BenchHosts.create(stateDir, name, PREFIX);
      const limit = pLimit(8);
      const { ms } = await timed(() =>
        Promise.all(machines.map((m) => limit(async () => made.push(await benchHosts!.host(m))))),
      );
      extra.hostsStartMs = ms;
      const map = Object.fromEntries(
        made.map((h) => [h.name, { endpoint: h.endpoint, hostPublicKey: h.hostKey }]),
      );
      await writeFile(fleet.aws!.addressMap, JSON.stringify(map));
    }
    if (RESIDENT) {
      // Started once the address map is written: it reads the map when it starts.
      fleet.resident = new ResidentController(
        [...onceArgs(fleet, cpuProf, `n${n}-resident`), '--resident'],
        nodeEnv(),
      );
      running = fleet.resident.pid;
    }
    for (const op of ops) {
      if (op === 'one') await writeVersions(netDir, { [machines[0]!]: 2 });
      if (op === 'ten')
        await writeVersions(netDir, Object.fromEntries(machines.slice(0, 10).map((m) => [m, 3])));
      const f = await reconcile(fleet, op, cpuProf, () => fleetPids(fleet, made));
      figures.push(f);
      console.log(line(f));
      if (op === 'first') {
        const pids = await fleetPids(fleet, made);
        const rss = await Promise.all(pids.map(rssKiB));
        extra.sshdRssKiB = rss.reduce((a, b) => a + b, 0) / Math.max(pids.length, 1);
        extra.diskBytesPerHost = (await diskBytes(join(stateDir, 'hosts'))) / n;
      }
    }
  } finally {
    if (fleet.resident) {
      const ended = await fleet.resident.close();
      running = undefined;
      if (ended !== undefined) console.error(`N=${n}: the resident controller ${ended}`);
    }
    // A signal during the teardown must not end the process before the hosts are gone.
    await teardown();
    process.removeListener('SIGINT', onSignal).removeListener('SIGTERM', onSignal);
  }
  return { n, target, resident: RESIDENT, resources, figures, ...extra };
}

function line(f: OpFigures): string {
  const s = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
  const mb = (b: number): string => `${(b / 1e6).toFixed(0)} MB`;
  return (
    `N=${f.n} ${f.op.padEnd(5)} wall ${s(f.wallMs)} (reconcile ${s(f.reconcileMs)}), controller CPU ` +
    `${s(f.controllerCpuMs)}, hosts CPU ${s(f.hostsCpuMs)}, machine CPU ${s(f.machineCpuMs)}, controller RSS ${mb(f.peaks.rootBytes)} ` +
    `(maxRSS ${mb(f.controllerMaxRssKiB * 1024)}), Nix peak ${mb(f.peaks.nixMaxBytes)} one / ` +
    `${mb(f.peaks.nixSumBytes)} all, ssh ${f.sshConnections}${f.sshReused === undefined ? '' : `, reused ${f.sshReused}`}, aws ${f.awsCalls}, evals ${f.nixEvaluations}${f.machinesEvaluated === undefined ? '' : ` (machines ${f.machinesEvaluated})`}, ` +
    `copies ${f.copies}, activations ${f.activations}`
  );
}

async function main(): Promise<void> {
  const sizes = option('sizes', '10,100,300,1000').split(',').map(Number);
  if (sizes.some((n) => !Number.isInteger(n) || n < 10))
    throw new Error('--sizes: whole numbers of 10 or more');
  const target = option('target', 'local');
  if (target !== 'local' && target !== 'ec2') throw new Error('--target must be local or ec2');
  const cpuProf = option('cpu-prof', '');
  const ops = option('ops', OPS.join(',')).split(',') as Op[];
  if (ops[0] !== 'first' || ops.some((o) => !OPS.includes(o)))
    throw new Error(`--ops: first, then any of ${OPS.slice(1).join(', ')}`);
  const jsonOut = option('json', '');
  const started = Date.now();
  const cost = await hostCost(intOption('host-sample', 5), PREFIX);
  console.log(
    `one host: starts in ${(cost.startMs / 1000).toFixed(2)} s, sshd ${(cost.sshdRssKiB / 1024).toFixed(1)} MiB RSS, ` +
      `${(cost.diskBytes / 1e6).toFixed(2)} MB on disk before any system (median of ${cost.hosts})`,
  );
  let moto: Moto | undefined;
  if (target === 'ec2' || Number(option('resources', '0')) > 0) {
    Object.assign(process.env, MOTO_ENV);
    moto = await startMoto();
  }
  const fleets: Awaited<ReturnType<typeof runFleet>>[] = [];
  try {
    for (const n of sizes) {
      fleets.push(await runFleet(n, target, moto, cpuProf, ops));
      // After every fleet: a larger one that fails (an evaluation past its deadline) keeps the smaller ones' figures.
      if (jsonOut)
        await writeFile(
          jsonOut,
          JSON.stringify({ target, resident: RESIDENT, cost, fleets }, null, 2) + '\n',
        );
    }
  } finally {
    await moto?.stop();
  }
  const per = (n: number, op: Op): number | undefined => {
    const f = fleets.find((x) => x.n === n)?.figures.find((x) => x.op === op);
    return f && f.wallMs / n;
  };
  const largest = Math.max(...sizes);
  const ratios: Record<string, number> = {};
  if (sizes.includes(100) && largest > 100) {
    for (const op of ['first', 'noop'] as const) {
      const a = per(largest, op);
      const b = per(100, op);
      if (a !== undefined && b !== undefined) ratios[`${op} per machine, N=${largest} / N=100`] = a / b;
    }
  }
  for (const [k, v] of Object.entries(ratios)) console.log(`${k}: ${v.toFixed(2)}`);
  const totalMs = Date.now() - started;
  console.log(`whole run: ${(totalMs / 1000).toFixed(0)} s`);
  if (jsonOut)
    await writeFile(
      jsonOut,
      JSON.stringify({ target, resident: RESIDENT, cost, fleets, ratios, totalMs }, null, 2) + '\n',
    );
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exitCode = 1;
});
