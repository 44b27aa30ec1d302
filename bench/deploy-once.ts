// One Reconix reconcile in a process of its own, as `reconix deploy` runs it (the same deps the CLI builds), so
// that its peak memory is its own. Prints nothing; writes a JSON result (timings, phases, maxRSS, the report).
//   node dist/bench/deploy-once.js --manifest M --state DIR --op deploy|plan|prebuild --out FILE [--max-parallel N]
//     [--aws-endpoint URL --address-map FILE] [--evaluation-timeout SECONDS] [--address-prefix 127.79]
// With an AWS endpoint (moto), every AWS call is counted, and the address map ({machine: {endpoint,
// hostPublicKey}}) says where SSH reaches each ec2 machine, as the command line's address override does.
// `prebuild` plans, then builds what the plan would build: builds done before a timed deploy.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { buildDeps } from '../src/cli/deps.js';
import type { Action } from '../src/plan/actions.js';
import { reconcileDeployment } from '../src/reconcile/reconciler.js';
import { requestFor } from '../src/source/deployments.js';
import { loadDeployments } from '../src/source/load.js';
import { silentLogger } from '../src/util/log.js';
import type { AddressOverride } from '../src/providers/aws/index.js';
import { CallCounter } from '../test/support/aws-hooks.js';
import { BENCH_ADDRESS_PREFIX, benchProvider } from './support/hosts.js';
import { awsPhases, Probe, probeDeps } from './support/probe.js';
import { intOption, option } from './support/stats.js';

async function main(): Promise<void> {
  const manifest = option('manifest', '');
  const stateDir = option('state', '');
  const op = option('op', 'deploy');
  const out = option('out', '');
  if (!manifest || !stateDir || !out) throw new Error('--manifest, --state and --out are required');
  const started = performance.now();
  const awsEndpoint = option('aws-endpoint', '');
  const addressMap = option('address-map', '');
  const overrides: Record<string, AddressOverride> = addressMap
    ? (JSON.parse(await readFile(addressMap, 'utf8')) as Record<string, AddressOverride>)
    : {};
  const awsCalls = new CallCounter();
  const probe = new Probe();

  const loaded = await loadDeployments(manifest, join(stateDir, 'scratch'));
  const d = loaded.deployments[0];
  if (!d) throw new Error(`no deployment in ${manifest}: ${JSON.stringify(loaded.errors)}`);
  const deps = await buildDeps({
    stateDir,
    log: silentLogger,
    extraProviders: [benchProvider(join(stateDir, 'hosts'), option('address-prefix', BENCH_ADDRESS_PREFIX))],
    // Building ahead must not fill the evaluation cache: the timed rollout after it pays its evaluation.
    evalCache: op !== 'prebuild',
    timeouts: { evaluationMs: intOption('evaluation-timeout', 600) * 1000 },
    ...(awsEndpoint
      ? {
          aws: {
            endpoint: awsEndpoint,
            hooks: [awsCalls, awsPhases(probe)],
            addressOverride: (m: string) => overrides[m],
          },
        }
      : {}),
  });
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
    /** Since the process started: Node's startup, loading the manifest, building the deps, the reconcile. */
    processMs: performance.now(),
    setupMs: reconcileStart - started,
    maxRssKiB: usage.maxRSS,
    rssBytesAtEnd: process.memoryUsage().rss,
    cpuMs: (usage.userCPUTime + usage.systemCPUTime) / 1000,
    prebuilt: prebuilt.length,
    awsCalls: awsCalls.calls.length,
    awsCallsByCommand: awsCalls.summary(),
    phases: probe.summary(),
    report,
  };
  await writeFile(out, JSON.stringify(result, null, 2) + '\n');
  if (!report.ok) process.exitCode = 1;
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exitCode = 2;
});
