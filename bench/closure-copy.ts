// Benchmark: Reconix's closure copy (copyClosure over an ssh2 session from SshHostConnector) against
// `nix-copy-closure --to`, on the same synthetic closure. Every run copies into a fresh local host whose store is
// empty, so neither tool ever finds a path already there; the two tools alternate which goes first (A/B, B/A).
// A first round that is not counted warms the page cache of the local store for both.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SshHostConnector } from '../src/ssh/index.js';
import { copyClosure } from '../src/apply/hosts.js';
import { NixLocalStore } from '../src/nixstore/store.js';
import { nixCopyClosure } from './support/baseline.js';
import { withMachineCpu } from './support/cpu.js';
import { buildClosure, SYSTEM_CLOSURE, type BuiltClosure } from './support/closure.js';
import { BenchHosts, type BenchHost } from './support/hosts.js';
import { intOption, megabytes, median, option, seconds, timed } from './support/stats.js';

interface ReconixRun {
  totalMs: number;
  connectMs: number;
  copyMs: number;
  bytes: number;
  paths: number;
  /** CPU this process spent (user + system) during the copy. */
  cpuMs: number;
  /** CPU the whole machine spent meanwhile (both ends of the copy). */
  machineCpuMs: number;
}

interface NccRun {
  totalMs: number;
  machineCpuMs: number;
}

const connector = new SshHostConnector();
const store = new NixLocalStore();

async function reconixCopy(hosts: BenchHosts, host: BenchHost, closure: BuiltClosure): Promise<ReconixRun> {
  const cpu = process.cpuUsage();
  const connected = await timed(() =>
    connector.connect(host.endpoint, { privateKey: hosts.key.privateKey }, { pinned: host.hostKey }),
  );
  try {
    const copied = await timed(() => copyClosure(connected.value, store, closure.top));
    const used = process.cpuUsage(cpu);
    return {
      machineCpuMs: 0,
      totalMs: connected.ms + copied.ms,
      connectMs: connected.ms,
      copyMs: copied.ms,
      bytes: copied.value.bytes,
      paths: copied.value.paths,
      cpuMs: (used.user + used.system) / 1000,
    };
  } finally {
    connected.value.close();
  }
}

/** Fail unless the host now holds every path of the closure. */
async function assertComplete(hosts: BenchHosts, host: BenchHost, closure: BuiltClosure): Promise<void> {
  const s = await connector.connect(
    host.endpoint,
    { privateKey: hosts.key.privateKey },
    { pinned: host.hostKey },
  );
  try {
    const missing = await s.missingPaths(closure.paths);
    if (missing.length > 0) throw new Error(`${host.name} lacks ${missing.length} paths after the copy`);
  } finally {
    s.close();
  }
}

async function main(): Promise<void> {
  const iterations = intOption('iterations', 5);
  const jsonOut = option('json', '');
  const closure = await buildClosure(SYSTEM_CLOSURE);
  console.log(
    `closure-copy: ${closure.paths.length} paths, ${megabytes(closure.narBytes)} (NAR), ` +
      `${iterations} counted rounds + 1 warm-up, a fresh host per copy`,
  );
  const dir = await mkdtemp(join(tmpdir(), 'reconix-bench-copy-'));
  const hosts = await BenchHosts.create(dir, 'bench-copy');
  const stop = async (): Promise<void> => {
    await hosts.destroyAll();
    await rm(dir, { recursive: true, force: true });
  };
  const onSignal = (): void => void stop().finally(() => process.exit(130));
  process.once('SIGINT', onSignal).once('SIGTERM', onSignal);

  const rx: ReconixRun[] = [];
  const ncc: NccRun[] = [];
  try {
    for (let round = 0; round <= iterations; round++) {
      const [forRx, forNcc] = await Promise.all([hosts.host(`rx-${round}`), hosts.host(`ncc-${round}`)]);
      const runRx = async (): Promise<ReconixRun> => {
        const m = await withMachineCpu(() => reconixCopy(hosts, forRx, closure));
        return { ...m.value, machineCpuMs: m.cpuMs };
      };
      const runNcc = async (): Promise<NccRun> => {
        const m = await withMachineCpu(() =>
          timed(() => nixCopyClosure(hosts.keyFile, forNcc.endpoint, closure.top)),
        );
        return { totalMs: m.value.ms, machineCpuMs: m.cpuMs };
      };
      let r: ReconixRun;
      let n: NccRun;
      if (round % 2 === 0) {
        r = await runRx();
        n = await runNcc();
      } else {
        n = await runNcc();
        r = await runRx();
      }
      await assertComplete(hosts, forRx, closure);
      await assertComplete(hosts, forNcc, closure);
      if (r.paths !== closure.paths.length) throw new Error(`Reconix copied ${r.paths} paths`);
      const label = round === 0 ? 'warm-up' : `round ${round}`;
      console.log(
        `  ${label.padEnd(8)} reconix ${seconds(r.totalMs)} (connect ${seconds(r.connectMs)}, ` +
          `copy ${seconds(r.copyMs)}; CPU node ${seconds(r.cpuMs)}, machine ${seconds(r.machineCpuMs)})   ` +
          `nix-copy-closure ${seconds(n.totalMs)} (CPU machine ${seconds(n.machineCpuMs)})`,
      );
      if (round > 0) {
        rx.push(r);
        ncc.push(n);
      }
      await Promise.all([hosts.destroy(forRx), hosts.destroy(forNcc)]);
    }
  } finally {
    process.removeListener('SIGINT', onSignal).removeListener('SIGTERM', onSignal);
    await stop();
  }

  const rxMs = median(rx.map((r) => r.totalMs));
  const nccMs = median(ncc.map((n) => n.totalMs));
  const speed = nccMs / rxMs;
  const result = {
    bench: 'closure-copy',
    iterations,
    closure: { paths: closure.paths.length, narBytes: closure.narBytes },
    reconix: {
      medianMs: rxMs,
      medianConnectMs: median(rx.map((r) => r.connectMs)),
      medianCopyMs: median(rx.map((r) => r.copyMs)),
      medianCpuMs: median(rx.map((r) => r.cpuMs)),
      medianMachineCpuMs: median(rx.map((r) => r.machineCpuMs)),
      runs: rx,
    },
    nixCopyClosure: {
      medianMs: nccMs,
      medianMachineCpuMs: median(ncc.map((n) => n.machineCpuMs)),
      runs: ncc,
    },
    speedRatio: speed,
    target: 0.9,
    met: speed >= 0.9,
  };
  console.log(
    `closure-copy: reconix median ${seconds(rxMs)} (${megabytes((closure.narBytes / rxMs) * 1000)}/s), ` +
      `nix-copy-closure median ${seconds(nccMs)} (${megabytes((closure.narBytes / nccMs) * 1000)}/s): ` +
      `Reconix at ${speed.toFixed(2)}x the speed of nix-copy-closure (target >= 0.9x) ${result.met ? 'MET' : 'NOT MET'}`,
  );
  if (jsonOut) await writeFile(jsonOut, JSON.stringify(result, null, 2) + '\n');
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exitCode = 1;
});
