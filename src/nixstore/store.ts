// The controller's own Nix store: build systems, query closures, read store paths for copying to hosts.
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import pLimit from 'p-limit';
import { Reason } from '../api/conditions.js';
import { ReconixError } from '../core/errors.js';
import type { BuildWatch, LocalStore, StorePathInfo } from '../core/ports.js';
import { runProcess, type ExecOptions, type ExecResult, type Runner } from '../util/exec.js';
import { BuildCounter } from './build-progress.js';
import { assertStorePath } from '../util/shell.js';
import { narOf } from './nar.js';
import { makeToolbox, type SandboxOptions } from './sandbox.js';
import { cleanNixError, tailLines } from '../util/text.js';

export interface NixLocalStoreOptions {
  runner?: Runner;
  /** Limit for one build (nix-store --realise of the systems to build); none by default. */
  buildTimeoutMs?: number;
  /** Path of nix-store; default from PATH. */
  nixStore?: string;
  /** Path of nix (for path-info); default from PATH. */
  nix?: string;
  /** nix-store calls run at once when registering GC roots. */
  concurrency?: number;
  /**
   * Build in Nix's sandbox (its own mount, network and PID namespaces, the inputs and a copy of a few host tools
   * only), failing rather than falling back to an unsandboxed build. Off by default.
   */
  sandbox?: SandboxOptions;
}

const LOG_TAIL_LINES = 40;

export class NixLocalStore implements LocalStore {
  private readonly runner: Runner;
  private readonly nixStore: string;
  private readonly nix: string;
  private readonly concurrency: number;

  constructor(private readonly options: NixLocalStoreOptions = {}) {
    this.runner = options.runner ?? runProcess;
    this.nixStore = options.nixStore ?? 'nix-store';
    this.nix = options.nix ?? 'nix';
    this.concurrency = options.concurrency ?? 8;
  }

  /** The same store, building in the sandbox. */
  sandboxed(sandbox: SandboxOptions): NixLocalStore {
    return new NixLocalStore({ ...this.options, sandbox });
  }

  get isSandboxed(): boolean {
    return this.options.sandbox !== undefined;
  }

  /**
   * Build all derivations in one nix-store call (Nix builds them in parallel and shares dependencies). With
   * `rootDir`, each result then gets a GC root named after its derivation (`<rootDir>/<drv name>`), so that
   * building some machines never drops the roots of others.
   */
  async realise(drvs: string[], rootDir?: string, watch?: BuildWatch): Promise<void> {
    if (drvs.length === 0) return;
    for (const d of drvs) {
      if (!assertStorePath(d).endsWith('.drv')) throw new Error(`not a derivation: ${JSON.stringify(d)}`);
    }
    // Temporary roots protect the results from a concurrent garbage collection until the stable ones exist.
    const pending = rootDir
      ? await mkdir(rootDir, { recursive: true }).then(() => mkdtemp(join(rootDir, '.pending-')))
      : undefined;
    // Each build gets tools of its own: a build may write to them, and no other build must see what it wrote.
    const sandbox = this.options.sandbox;
    const tools = sandbox
      ? await mkdir(sandbox.toolDir, { recursive: true }).then(() => mkdtemp(join(sandbox.toolDir, 'tools-')))
      : undefined;
    try {
      const sandboxArgs =
        sandbox && tools
          ? [
              '--option',
              'sandbox',
              'true',
              '--option',
              'sandbox-fallback',
              'false',
              '--option',
              'sandbox-paths',
              await makeToolbox(tools, this.runner, sandbox).catch((cause: unknown) => {
                throw new ReconixError(
                  Reason.BuildFailed,
                  `cannot prepare the build sandbox: ${String(cause)}`,
                  {
                    cause,
                  },
                );
              }),
            ]
          : [];
      const rootArgs = pending ? ['--add-root', join(pending, 'result'), '--indirect'] : [];
      const counter = watch ? new BuildCounter(watch) : undefined;
      const timeoutMs = this.options.buildTimeoutMs;
      const result = await this.call(
        ['--realise', ...sandboxArgs, ...rootArgs, ...drvs],
        Reason.BuildFailed,
        {
          ...(counter ? { onStderr: (b: Buffer) => counter.push(b) } : {}),
          ...(timeoutMs === undefined ? {} : { timeoutMs }),
        },
      );
      counter?.end(result.exitCode === 0);
      if (result.timedOut) {
        throw new ReconixError(
          Reason.BuildTimeout,
          `building ${drvs.length} system(s) did not finish within ${Math.round((timeoutMs ?? 0) / 1000)} s (--build-timeout)`,
        );
      }
      if (result.exitCode !== 0) {
        throw new ReconixError(
          Reason.BuildFailed,
          `building ${drvs.length} system(s) failed:\n${tailLines(result.stderr, LOG_TAIL_LINES)}`,
          {
            reaction: 'stall',
          },
        );
      }
      if (rootDir) {
        const limit = pLimit(this.concurrency);
        await Promise.all(drvs.map((d) => limit(() => this.addRoot(d, join(rootDir, basename(d, '.drv'))))));
      }
    } finally {
      if (pending) await rm(pending, { recursive: true, force: true });
      if (tools) await rm(tools, { recursive: true, force: true });
    }
  }

  async isValid(path: string): Promise<boolean> {
    const result = await this.call(['--check-validity', assertStorePath(path)], Reason.CopyFailed);
    return result.exitCode === 0;
  }

  async validPaths(paths: string[]): Promise<Set<string>> {
    if (paths.length === 0) return new Set();
    // --print-invalid makes nix-store list the invalid paths and exit 0.
    const result = await this.call(
      ['--check-validity', '--print-invalid', ...paths.map(assertStorePath)],
      Reason.CopyFailed,
    );
    if (result.exitCode !== 0) {
      throw new ReconixError(Reason.CopyFailed, `cannot check store paths: ${cleanNixError(result.stderr)}`);
    }
    const invalid = new Set(result.stdout.split('\n').filter((l) => l !== ''));
    return new Set(paths.filter((p) => !invalid.has(p)));
  }

  /** Every path's closure from one `nix path-info --recursive --json`, each ordered dependencies first. */
  async closures(paths: string[]): Promise<Map<string, StorePathInfo[]>> {
    const out = new Map<string, StorePathInfo[]>();
    if (paths.length === 0) return out;
    const args = ['--extra-experimental-features', 'nix-command', 'path-info', '--json', '--recursive'];
    const result = await this.runner(this.nix, [...args, ...paths.map(assertStorePath)]);
    if (result.exitCode !== 0) {
      throw new ReconixError(Reason.CopyFailed, `cannot compute closures: ${cleanNixError(result.stderr)}`);
    }
    const infos = new Map<string, StorePathInfo>();
    for (const e of parsePathInfos(result.stdout)) infos.set(e.path, e);
    const refs = new Map([...infos].map(([p, i]) => [p, i.references]));
    for (const root of paths) {
      out.set(
        root,
        postOrder(root, refs).map((p) => {
          const info = infos.get(p);
          if (!info) throw new ReconixError(Reason.CopyFailed, `${p} is not valid in the local store`);
          return info;
        }),
      );
    }
    return out;
  }

  /** The NAR of a store path, read from the file system (the receiving store checks it against `narHash`). */
  nar(path: string): AsyncIterable<Buffer> {
    return narOf(assertStorePath(path), { lend: true });
  }

  private async addRoot(drv: string, link: string): Promise<void> {
    const result = await this.call(['--realise', drv, '--add-root', link, '--indirect'], Reason.BuildFailed);
    if (result.exitCode !== 0) {
      throw new ReconixError(
        Reason.BuildFailed,
        `cannot register a GC root for ${drv}: ${cleanNixError(result.stderr)}`,
      );
    }
  }

  private async call(args: string[], reason: Reason, options: ExecOptions = {}): Promise<ExecResult> {
    try {
      return await this.runner(this.nixStore, args, options);
    } catch (cause) {
      throw new ReconixError(reason, `cannot run ${this.nixStore}: ${String(cause)}`, { cause });
    }
  }
}

/** The closure of `root` in `refs`, each path after everything it refers to. */
function postOrder(root: string, refs: ReadonlyMap<string, readonly string[]>): string[] {
  const order: string[] = [];
  const seen = new Set<string>();
  // Iterative, so that deep dependency chains cannot overflow the stack.
  const stack: { path: string; next: number }[] = [{ path: root, next: 0 }];
  seen.add(root);
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    const children = refs.get(top.path) ?? [];
    if (top.next < children.length) {
      const child = children[top.next++]!;
      if (child !== top.path && !seen.has(child)) {
        seen.add(child);
        stack.push({ path: child, next: 0 });
      }
    } else {
      order.push(top.path);
      stack.pop();
    }
  }
  return order;
}

/** The entries of `nix path-info --json`: valid paths only, with what a copy needs. */
function parsePathInfos(json: string): StorePathInfo[] {
  const list = JSON.parse(json) as unknown;
  if (!Array.isArray(list)) throw new ReconixError(Reason.CopyFailed, 'nix path-info printed no list');
  const out: StorePathInfo[] = [];
  for (const raw of list as Record<string, unknown>[]) {
    const path = raw.path;
    if (typeof path !== 'string') continue;
    if (raw.valid === false || typeof raw.narHash !== 'string' || typeof raw.narSize !== 'number') {
      throw new ReconixError(Reason.CopyFailed, `${path} is not valid in the local store`);
    }
    const strings = (v: unknown): string[] =>
      Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
    out.push({
      path,
      narHash: raw.narHash,
      narSize: raw.narSize,
      references: strings(raw.references),
      ...(typeof raw.deriver === 'string' && raw.deriver !== '' ? { deriver: raw.deriver } : {}),
      ...(Array.isArray(raw.signatures) ? { signatures: strings(raw.signatures) } : {}),
      ...(typeof raw.ca === 'string' && raw.ca !== '' ? { ca: raw.ca } : {}),
    });
  }
  return out;
}
