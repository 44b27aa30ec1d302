// One Reconix reconcile in a process of its own, as `reconix deploy` runs it (the same deps the CLI builds), so
// that its peak memory is its own. Prints nothing; writes a JSON result (timings, phases, maxRSS, the report).
//   node dist/bench/deploy-once.js --manifest M --state DIR --op deploy|plan|prebuild --out FILE [--max-parallel N]
//     [--aws-endpoint URL --address-map FILE] [--evaluation-timeout SECONDS] [--address-prefix 127.79]
//     [--restrict-eval]
//   node dist/bench/deploy-once.js --resident --manifest M --state DIR [--op ...] (the same options but --out)
// With an AWS endpoint (moto), every AWS call is counted, and the address map ({machine: {endpoint,
// hostPublicKey}}) says where SSH reaches each ec2 machine, as the command line's address override does.
// `prebuild` plans, then builds what the plan would build: builds done before a timed deploy.
// `--resident` is the long-running controller instead: its deps are built once, as `reconix controller` builds
// them (SSH connections kept 15 minutes between reconciles), then every line `deploy OUTFILE` on stdin reloads the
// manifest, runs one reconcile, writes OUTFILE (CPU, phases and AWS calls of that reconcile, and the SSH connections
// it opened and reused) and prints `done` on stdout. The end of stdin closes the kept connections and the process.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { getHeapSpaceStatistics } from 'node:v8';
import { buildDeps, connectionPool } from '../src/cli/deps.js';
import type { ReconcileDeps } from '../src/observe/run.js';
import type { Action } from '../src/plan/actions.js';
import { reconcileDeployment } from '../src/reconcile/reconciler.js';
import { requestFor } from '../src/source/deployments.js';
import { loadDeployments } from '../src/source/load.js';
import { silentLogger } from '../src/util/log.js';
import type { AddressOverride, AwsCallHook } from '../src/providers/aws/index.js';
import { CallCounter } from '../test/support/aws-hooks.js';
import { BENCH_ADDRESS_PREFIX, benchProvider } from './support/hosts.js';
import { awsPhases, Probe, probeDeps } from './support/probe.js';
import { intOption, option } from './support/stats.js';

/** What `reconix controller` keeps connections open for by default (--keep-connections). */
const KEEP_CONNECTIONS_MS = 15 * 60_000;

/** What one reconcile counts: a new pair for each, behind the AWS hooks built once with the deps. */
interface Counters {
  awsCalls: CallCounter;
  probe: Probe;
  phases: AwsCallHook;
  /** Machines whose systems were evaluated, as a restricted evaluation's cache logs them. */
  evaluated: { systems?: number };
}

/**
 * Where a resident process's memory was at its highest resident size, sampled every 50 ms: V8's heap spaces (in use
 * and committed) and what lives outside the heap (Buffers, ArrayBuffers). The kernel's maxRSS says how high; this
 * says what it was made of.
 */
class MemorySampler {
  peak: Record<string, number> = { rss: 0 };
  private readonly timer = setInterval(() => this.sample(), 50).unref();

  sample(): void {
    const u = process.memoryUsage();
    if (u.rss <= this.peak.rss!) return;
    const mb = (b: number) => Math.round((b / 1048576) * 10) / 10;
    const peak: Record<string, number> = {
      rss: u.rss,
      rssMB: mb(u.rss),
      heapTotalMB: mb(u.heapTotal),
      heapUsedMB: mb(u.heapUsed),
      externalMB: mb(u.external),
      arrayBuffersMB: mb(u.arrayBuffers),
    };
    for (const s of getHeapSpaceStatistics()) {
      peak[`${s.space_name}.usedMB`] = mb(s.space_used_size);
      peak[`${s.space_name}.committedMB`] = mb(s.physical_space_size);
    }
    this.peak = peak;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

function counters(): Counters {
  const probe = new Probe();
  return { awsCalls: new CallCounter(), probe, phases: awsPhases(probe), evaluated: {} };
}

async function main(): Promise<void> {
  const resident = process.argv.includes('--resident');
  const manifest = option('manifest', '');
  const stateDir = option('state', '');
  const op = option('op', 'deploy');
  const out = option('out', '');
  if (!manifest || !stateDir || (!out && !resident))
    throw new Error('--manifest, --state and --out are required');
  const started = performance.now();
  const awsEndpoint = option('aws-endpoint', '');
  const addressMap = option('address-map', '');
  const overrides: Record<string, AddressOverride> = addressMap
    ? (JSON.parse(await readFile(addressMap, 'utf8')) as Record<string, AddressOverride>)
    : {};
  let current = counters();
  const forward: AwsCallHook = {
    before: (call) => (current.awsCalls.before(call), current.phases.before?.(call)),
    after: (call, ok) => current.phases.after?.(call, ok),
  };

  const deps = await buildDeps({
    stateDir,
    // Silent, but for the machines a restricted evaluation evaluated again.
    log: {
      ...silentLogger,
      info: (_msg, fields) => {
        if (typeof fields?.evaluated === 'number') current.evaluated.systems = fields.evaluated;
      },
    },
    extraProviders: [benchProvider(join(stateDir, 'hosts'), option('address-prefix', BENCH_ADDRESS_PREFIX))],
    // Building ahead must not fill the evaluation cache: the timed rollout after it pays its evaluation.
    evalCache: op !== 'prebuild',
    restrictEval: process.argv.includes('--restrict-eval'),
    timeouts: { evaluationMs: intOption('evaluation-timeout', 600) * 1000 },
    ...(resident ? { keepConnectionsMs: KEEP_CONNECTIONS_MS } : {}),
    ...(awsEndpoint
      ? { aws: { endpoint: awsEndpoint, hooks: [forward], addressOverride: (m: string) => overrides[m] } }
      : {}),
  });
  if (!resident) {
    if (!(await reconcileOnce(deps, current, manifest, stateDir, op, out, started))) process.exitCode = 1;
    return;
  }
  const pool = connectionPool(deps);
  const memory = new MemorySampler();
  try {
    for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
      if (line.trim() === '') continue;
      const m = /^deploy (\S.*)$/.exec(line.trim());
      if (!m) throw new Error(`--resident: stdin line ${JSON.stringify(line)} is not "deploy OUTFILE"`);
      current = counters();
      const before = pool?.counts() ?? { opened: 0, reused: 0 };
      const cpu = process.cpuUsage();
      await reconcileOnce(deps, current, manifest, stateDir, op, m[1]!, performance.now(), () => {
        const used = process.cpuUsage(cpu);
        const after = pool?.counts() ?? before;
        return {
          cpuMs: (used.user + used.system) / 1000,
          sshOpened: after.opened - before.opened,
          sshReused: after.reused - before.reused,
          memoryAtPeak: (memory.sample(), memory.peak),
        };
      });
      process.stdout.write('done\n');
    }
  } finally {
    memory.stop();
    pool?.close();
  }
}

/** One reconcile of the manifest's (first) deployment; writes its result to `out`, returns whether it went well. */
async function reconcileOnce(
  deps: ReconcileDeps,
  { awsCalls, probe, evaluated }: Counters,
  manifest: string,
  stateDir: string,
  op: string,
  out: string,
  started: number,
  /** A resident process's own figures of this reconcile; without it, the process's. */
  ownFigures?: () => {
    cpuMs: number;
    sshOpened: number;
    sshReused: number;
    memoryAtPeak: Record<string, number>;
  },
): Promise<boolean> {
  // Loaded for every reconcile: a resident process sees the network files change between them.
  const loaded = await loadDeployments(manifest, join(stateDir, 'scratch'));
  const d = loaded.deployments[0];
  if (!d) throw new Error(`no deployment in ${manifest}: ${JSON.stringify(loaded.errors)}`);
  const req = requestFor(d.name, d.spec, d.source, op === 'deploy' ? 'deploy' : 'plan', {
    maxParallel: intOption('max-parallel', 20),
  });
  const reconcileStart = performance.now();
  const report = await reconcileDeployment(req, probeDeps(deps, probe));
  const reconcileMs = performance.now() - reconcileStart;

  let prebuilt: string[] = [];
  if (op === 'prebuild') {
    const builds = report.plan.actions.filter((a: Action) => a.kind === 'build');
    prebuilt = builds.map((b) => b.drvPath);
    await deps.store.realise(prebuilt, deps.gcRootDir);
  }
  const usage = process.resourceUsage();
  const result = {
    op,
    deployment: d.name,
    reconcileMs,
    /** Since the process started: Node's startup, loading the manifest, building the deps, the reconcile(s). */
    processMs: performance.now(),
    /** Until the reconcile started: a resident process's is loading the manifest only (its deps are built). */
    setupMs: reconcileStart - started,
    // The peak of the process so far, also in a resident process: the kernel keeps no peak per reconcile.
    maxRssKiB: usage.maxRSS,
    rssBytesAtEnd: process.memoryUsage().rss,
    cpuMs: (usage.userCPUTime + usage.systemCPUTime) / 1000,
    prebuilt: prebuilt.length,
    awsCalls: awsCalls.calls.length,
    awsCallsByCommand: awsCalls.summary(),
    ...(evaluated.systems === undefined ? {} : { machinesEvaluated: evaluated.systems }),
    phases: probe.summary(),
    ...ownFigures?.(),
    // A resident controller's result says how the reconcile ended only: the whole report of 1,000 machines and
    // their plan is megabytes of JSON, which the controller itself never writes, and would be counted in its peak.
    report: ownFigures ? { ok: report.ok, reason: report.reason, message: report.message } : report,
  };
  await writeFile(out, JSON.stringify(result, null, 2) + '\n');
  return report.ok;
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exitCode = 2;
});
