// The one place real clients are constructed: Nix, SSH, local hosts, the state store.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConnectionPool, SshHostConnector } from '../ssh/index.js';
import { LocalTargetProvider } from '../providers/local/index.js';
import { NoneTargetProvider } from '../providers/none.js';
import type { ClientKey, ReconcileDeps } from '../observe/run.js';
import { systemClock } from '../core/clock.js';
import { type HostConnector, type Logger, type TargetProvider } from '../core/ports.js';
import { NixEvaluator } from '../evaluate/index.js';
import { CachingEvaluator, type EvaluationCounts } from '../evaluate/cache.js';
import { EvalMemory } from '../evaluate/batches.js';
import { NixLocalStore } from '../nixstore/store.js';
import { FileStateStore } from '../state/file-store.js';
import { run } from '../util/exec.js';
import type { AwsSettings } from './aws.js';
import { lazyAws } from './lazy-aws.js';
import { hmacSecret } from '../keys/digest.js';
import { localKeySource } from '../keys/resolve.js';

export function defaultStateDir(): string {
  if (process.env.RECONIX_STATE_DIR) return path.resolve(process.env.RECONIX_STATE_DIR);
  if (process.getuid?.() === 0) return '/var/lib/reconix';
  const base = process.env.XDG_STATE_HOME ?? path.join(os.homedir(), '.local', 'state');
  return path.join(base, 'reconix');
}

/** Where the client key of a state directory lives (OpenSSH format, usable by ssh -i). */
export function clientKeyFile(stateDir: string): string {
  return path.join(stateDir, 'keys', 'client_ed25519');
}

/** The SSH key Reconix uses to reach the hosts it creates; made once per state directory. */
export async function clientKey(stateDir: string): Promise<ClientKey> {
  const file = clientKeyFile(stateDir);
  const dir = path.dirname(file);
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  try {
    await fs.access(file);
  } catch {
    const tmp = `${file}.tmp-${process.pid}`;
    await fs.rm(tmp, { force: true });
    await fs.rm(`${tmp}.pub`, { force: true });
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'reconix', '-f', tmp]);
    await fs.rename(`${tmp}.pub`, `${file}.pub`);
    await fs.rename(tmp, file);
  }
  return {
    privateKey: await fs.readFile(file, 'utf8'),
    publicKey: (await fs.readFile(`${file}.pub`, 'utf8')).trim(),
  };
}

/**
 * What a program embedding the reconix command adds to the clients it builds: hooks on every AWS call, where SSH
 * reaches ec2 machines. The reconix binary adds nothing.
 */
export interface CliExtras {
  aws?: Pick<AwsSettings, 'hooks' | 'addressOverride'>;
}

export interface DepsOptions {
  stateDir: string;
  log: Logger;
  extraProviders?: TargetProvider[];
  /** The `ec2` target and AWS resources. */
  aws?: AwsSettings;
  /** Evaluate networks in Nix's restricted mode (Kubernetes mode turns it on whatever this says). */
  restrictEval?: boolean;
  /** Take evaluations whose inputs did not change from the cache (default); false evaluates every time. */
  evalCache?: boolean;
  timeouts?: DepsTimeouts;
  /**
   * Keep SSH connections open between reconciles for this long unused (a controller's resyncs then reuse them);
   * absent or 0, every reconcile closes the connections it opened, as a one-shot command must.
   */
  keepConnectionsMs?: number;
}

/**
 * Deadlines of the Nix and SSH processes (--evaluation-timeout, --build-timeout, --copy-timeout), and how much
 * evaluation may use (--eval-memory in bytes, --eval-workers).
 */
export interface DepsTimeouts {
  evaluationMs?: number;
  buildMs?: number;
  copyMs?: number;
  evalMemory?: number;
  evalWorkers?: number;
}

function connector(t: DepsTimeouts, keepMs: number | undefined): HostConnector {
  const ssh = new SshHostConnector(t.copyMs === undefined ? {} : { copyTimeoutMs: t.copyMs });
  if (!keepMs) return ssh;
  // Node slices small Buffers out of shared 8 KiB slabs, and a slab lives as long as any slice of it. A kept
  // connection holds a few small Buffers (its last packet, its keys), each pinning a slab of its own: with 1,000
  // connections kept, megabytes the controller cannot give back. Allocated one by one, they cost what they hold.
  Buffer.poolSize = 0;
  return new ConnectionPool(ssh, { idleMs: keepMs });
}

/** What the deps' evaluation cache counts (machines evaluated and answered from it); none without a cache. */
export function evaluationCounts(deps: Pick<ReconcileDeps, 'evaluator'>): EvaluationCounts | undefined {
  return deps.evaluator instanceof CachingEvaluator ? deps.evaluator.counts : undefined;
}

/** The connections a controller's deps keep between reconciles; none for a one-shot command's. */
export function connectionPool(deps: Pick<ReconcileDeps, 'connector'>): ConnectionPool | undefined {
  return deps.connector instanceof ConnectionPool ? deps.connector : undefined;
}

export async function buildDeps(opts: DepsOptions): Promise<ReconcileDeps> {
  await fs.mkdir(opts.stateDir, { recursive: true, mode: 0o700 });
  const scratch = path.join(opts.stateDir, 'scratch');
  await fs.mkdir(scratch, { recursive: true });
  const providers: Record<string, TargetProvider> = {};
  const aws = lazyAws(opts.stateDir, opts.aws ?? {});
  const t = opts.timeouts ?? {};
  for (const p of [
    new NoneTargetProvider(),
    new LocalTargetProvider({ baseDir: path.join(opts.stateDir, 'hosts') }),
    aws.provider,
    ...(opts.extraProviders ?? []),
  ]) {
    providers[p.env] = p;
  }
  const evaluator = new NixEvaluator({
    scratchDir: scratch,
    restrictEval: opts.restrictEval === true,
    timeoutMs: t.evaluationMs ?? 600_000,
    ...(t.evalMemory === undefined ? {} : { memoryBudget: t.evalMemory }),
    ...(t.evalWorkers === undefined ? {} : { workers: t.evalWorkers }),
    // What batches cost is remembered beside the evaluation cache, so that a one-shot run starts from it.
    memory: new EvalMemory(path.join(opts.stateDir, 'eval-cache', 'memory')),
    log: opts.log,
  });
  const store = new NixLocalStore(t.buildMs === undefined ? {} : { buildTimeoutMs: t.buildMs });
  return {
    evaluator:
      opts.evalCache === false
        ? evaluator
        : new CachingEvaluator(evaluator, {
            dir: path.join(opts.stateDir, 'eval-cache'),
            skip: [opts.stateDir],
            store,
            log: opts.log,
          }),
    store,
    providers,
    connector: connector(t, opts.keepConnectionsMs),
    state: new FileStateStore(opts.stateDir),
    clientKey: await clientKey(opts.stateDir),
    readKeyFile: (p) => fs.readFile(p, 'utf8'),
    keySource: localKeySource(),
    keyHmacSecret: (deployment) => hmacSecret(opts.stateDir, deployment),
    gcRootDir: path.join(opts.stateDir, 'gcroots'),
    log: opts.log,
    clock: systemClock,
    resources: aws.resources,
    binaryCaches: aws.caches,
    prepare: aws.prepare,
  };
}
