// An end-to-end workspace: a copy of an example network in a temp dir, its own state dir and real deps
// (Nix, ssh2, local hosts). dispose() destroys every host the workspace created and removes its files.
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isIP } from 'node:net';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DeploymentState } from '../../src/core/model.js';
import { buildDeps, connectionPool } from '../../src/cli/deps.js';
import type { ConnectionCounts } from '../../src/ssh/pool.js';
import type { ReconcileDeps } from '../../src/observe/run.js';
import { destroy } from '../../src/apply/operations.js';
import { reconcileDeployment } from '../../src/reconcile/reconciler.js';
import type { ReconcileReport } from '../../src/report/report.js';
import { requestFor, type LoadedDeployment, type RequestOverrides } from '../../src/source/deployments.js';
import { loadDeployments } from '../../src/source/load.js';
import { silentLogger } from '../../src/util/log.js';
import { run } from '../../src/util/exec.js';

export const REPO_ROOT = resolve(fileURLToPath(import.meta.url), '../../../..');

export interface Workspace {
  dir: string;
  stateDir: string;
  deps: ReconcileDeps;
  /** What the kept connections' pool counted, with `keepConnectionsMs`. */
  connections(): ConnectionCounts | undefined;
  /** Close the kept connections, as a controller does when it stops. */
  closeConnections(): void;
  /** Load the deployment named in `manifest` (relative to dir). */
  load(manifest?: string): Promise<LoadedDeployment>;
  run(
    op: 'deploy' | 'plan' | 'check',
    o?: RequestOverrides & { manifest?: string },
  ): Promise<ReconcileReport>;
  state(name?: string): Promise<DeploymentState>;
  /** The activation records of a local host, read from its own store directory. */
  activations(machine: string, name?: string): Promise<string[]>;
  /**
   * Switch a local host to an older generation of its system profile by hand, as someone logged in on it would:
   * drift made out of band.
   */
  switchByHand(machine: string, generation: number): Promise<void>;
  write(file: string, text: string): Promise<void>;
  read(file: string): Promise<string>;
  dispose(): Promise<void>;
}

export interface WorkspaceOptions {
  /** Keep SSH connections between reconciles, as a controller does (`--keep-connections`). */
  keepConnectionsMs?: number;
}

export async function makeWorkspace(
  example: string,
  manifest = 'local.yaml',
  options: WorkspaceOptions = {},
): Promise<Workspace> {
  const dir = await mkdtemp(join(tmpdir(), 'reconix-ws-'));
  const stateDir = join(dir, '.state');
  await cp(join(REPO_ROOT, 'examples', example), join(dir, 'net'), { recursive: true });
  const netDir = join(dir, 'net');
  await keepOnLoopback(join(netDir, 'physical-none.nix'));
  const built = await buildDeps({ stateDir, log: silentLogger, ...options });
  const deps = loopbackOnly(built);
  const loaded: string[] = [];
  const ws: Workspace = {
    dir: netDir,
    stateDir,
    deps,
    connections: () => connectionPool(built)?.counts(),
    closeConnections: () => connectionPool(built)?.close(),
    async load(m = manifest) {
      const result = await loadDeployments(join(netDir, m), join(stateDir, 'scratch'));
      const d = result.deployments[0];
      if (!d) throw new Error(`no deployment in ${m}: ${result.errors.map((e) => e.message).join('; ')}`);
      if (!loaded.includes(d.name)) loaded.push(d.name);
      return d;
    },
    async run(op, o = {}) {
      const d = await ws.load(o.manifest);
      return reconcileDeployment(requestFor(d.name, d.spec, d.source, op, o), deps);
    },
    async state(name) {
      return deps.state.read(name ?? (await ws.load()).name);
    },
    async activations(machine, name) {
      const st = await ws.state(name);
      const hostDir = st.machines[machine]?.target?.dir;
      if (typeof hostDir !== 'string') return [];
      const text = await readFile(join(hostDir, 'nix/var/reconix/activations.log'), 'utf8').catch(() => '');
      return text.split('\n').filter(Boolean);
    },
    async switchByHand(machine, generation) {
      const pid = (await ws.state()).machines[machine]!.target!.pid as number;
      await run('nsenter', [
        ...['--mount', '--target', String(pid), '--', 'sh', '-c'],
        `nix-env -p /nix/var/nix/profiles/system --switch-generation ${generation} 2>/dev/null && ` +
          '/nix/var/nix/profiles/system/bin/switch-to-configuration switch',
      ]);
    },
    write: (file, text) => writeFile(join(netDir, file), text),
    read: (file) => readFile(join(netDir, file), 'utf8'),
    async dispose() {
      // Every deployment the state dir records, also those deployed through the command line, not ws.run.
      const recorded = await deps.state.list().catch(() => [] as string[]);
      for (const name of [...new Set([...loaded, ...recorded])]) {
        const d = await ws.load(loaded.length === 1 ? manifest : undefined).catch(() => undefined);
        const req = d ? requestFor(name, d.spec, d.source, 'deploy') : undefined;
        if (req) await destroy({ ...req, name }, deps).catch(() => undefined);
      }
      connectionPool(built)?.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
  return ws;
}

/**
 * The examples' `none` hosts are placeholders (documentation addresses, example.org): in a workspace they point
 * at a loopback address that no test host takes (those are 127.77-79.x.y), so that a test that loads every manifest
 * of the directory sends nothing off this machine. A test that deploys to `none` hosts writes its own addresses.
 */
async function keepOnLoopback(file: string): Promise<void> {
  const text = await readFile(file, 'utf8').catch(() => undefined);
  if (text === undefined) return;
  await writeFile(file, text.replace(/"192\.0\.2\.\d+"|"[a-z.]*example\.org"/g, '"127.76.255.254"'));
}

/** In-process tests connect to loopback addresses only, whatever an address in a spec or a fake cloud says. */
function loopbackOnly(deps: ReconcileDeps): ReconcileDeps {
  const inner = deps.connector;
  return {
    ...deps,
    connector: {
      connect(endpoint, auth, check, options) {
        if (!isIP(endpoint.host) || !/^127\./.test(endpoint.host))
          return Promise.reject(new Error(`the test refuses to connect to ${endpoint.host}: not loopback`));
        return inner.connect(endpoint, auth, check, options);
      },
    },
  };
}

/** Poll `probe` every `everyMs` until it returns something but undefined or false; fail after `timeoutMs`. */
export async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined | false>,
  timeoutMs = 30_000,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`,
      );
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
