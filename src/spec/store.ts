// The controller's own Nix store: build systems, query closures, export paths for copying to hosts.
import { spawn as nodeSpawn, type ChildProcessByStdio } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { PassThrough, type Readable, type Writable } from 'node:stream';
import pLimit from 'p-limit';
import { Reason, ReconixError } from '../api/conditions.js';
import type { LocalStore } from '../reconcile/ports.js';
import { runProcess, type ExecResult, type Runner } from '../util/exec.js';
import { assertStorePath } from '../util/shell.js';
import { cleanNixError } from './evaluator.js';
import { tailLines } from './text.js';

export type Spawn = (
  file: string,
  args: readonly string[],
) => ChildProcessByStdio<Writable | null, Readable, Readable>;

export interface NixLocalStoreOptions {
  runner?: Runner;
  /** Starts nix-store --export (streaming); default child_process.spawn. */
  spawn?: Spawn;
  /** Path of nix-store; default from PATH. */
  nixStore?: string;
  /** Path of nix (for path-info); default from PATH. */
  nix?: string;
  /** nix-store calls run at once when registering GC roots. */
  concurrency?: number;
}

const LOG_TAIL_LINES = 40;

const defaultSpawn: Spawn = (file, args) => nodeSpawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'] });

export class NixLocalStore implements LocalStore {
  private readonly runner: Runner;
  private readonly spawn: Spawn;
  private readonly nixStore: string;
  private readonly nix: string;
  private readonly concurrency: number;

  constructor(options: NixLocalStoreOptions = {}) {
    this.runner = options.runner ?? runProcess;
    this.spawn = options.spawn ?? defaultSpawn;
    this.nixStore = options.nixStore ?? 'nix-store';
    this.nix = options.nix ?? 'nix';
    this.concurrency = options.concurrency ?? 8;
  }

  /**
   * Build all derivations in one nix-store call (Nix builds them in parallel and shares dependencies). With
   * `rootDir`, each result then gets a GC root named after its derivation (`<rootDir>/<drv name>`), so that
   * building some machines never drops the roots of others.
   */
  async realise(drvs: string[], rootDir?: string): Promise<void> {
    if (drvs.length === 0) return;
    for (const d of drvs) {
      if (!assertStorePath(d).endsWith('.drv')) throw new Error(`not a derivation: ${JSON.stringify(d)}`);
    }
    // Temporary roots protect the results from a concurrent garbage collection until the stable ones exist.
    const pending = rootDir
      ? await mkdir(rootDir, { recursive: true }).then(() => mkdtemp(join(rootDir, '.pending-')))
      : undefined;
    try {
      const rootArgs = pending ? ['--add-root', join(pending, 'result'), '--indirect'] : [];
      const result = await this.call(['--realise', ...rootArgs, ...drvs], Reason.BuildFailed);
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
  async closures(paths: string[]): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>();
    if (paths.length === 0) return out;
    const args = ['--extra-experimental-features', 'nix-command', 'path-info', '--json', '--recursive'];
    const info = await this.runner(this.nix, [...args, ...paths.map(assertStorePath)]);
    if (info.exitCode !== 0) {
      throw new ReconixError(Reason.CopyFailed, `cannot compute closures: ${cleanNixError(info.stderr)}`);
    }
    const refs = new Map<string, string[]>();
    for (const e of JSON.parse(info.stdout) as { path: string; references?: string[] }[]) {
      refs.set(e.path, e.references ?? []);
    }
    for (const root of paths) out.set(root, postOrder(root, refs));
    return out;
  }

  /** `nix-store --query --requisites`: the closure, dependencies before dependents. */
  async closure(paths: string[]): Promise<string[]> {
    if (paths.length === 0) return [];
    const result = await this.call(
      ['--query', '--requisites', ...paths.map(assertStorePath)],
      Reason.CopyFailed,
    );
    if (result.exitCode !== 0) {
      throw new ReconixError(
        Reason.CopyFailed,
        `cannot compute the closure: ${cleanNixError(result.stderr)}`,
      );
    }
    return result.stdout.split('\n').filter((l) => l !== '');
  }

  /** A `nix-store --export` stream of exactly these paths; a failing export ends the stream with an error. */
  exportPaths(paths: string[]): Readable {
    const out = new PassThrough();
    let args: string[];
    try {
      args = ['--export', ...paths.map(assertStorePath)];
    } catch (err) {
      process.nextTick(() => out.destroy(err as Error));
      return out;
    }
    const child = this.spawn(this.nixStore, args);
    const stderr: Buffer[] = [];
    child.stderr.on('data', (b: Buffer) => stderr.push(b));
    child.stdout.pipe(out, { end: false });
    let failed = false;
    const fail = (message: string, cause?: unknown) => {
      if (failed) return;
      failed = true;
      out.destroy(new ReconixError(Reason.CopyFailed, message, cause === undefined ? {} : { cause }));
    };
    child.on('error', (err) => fail(`cannot run ${this.nixStore} --export: ${err.message}`, err));
    child.on('close', (code, signal) => {
      if (code === 0) out.end();
      else {
        const why = signal ? `was killed by ${signal}` : `exited with code ${code}`;
        fail(`nix-store --export ${why}: ${tailLines(Buffer.concat(stderr).toString('utf8'), 10)}`);
      }
    });
    // A consumer that gives up stops the export.
    out.on('close', () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    });
    return out;
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

  private async call(args: string[], reason: Reason): Promise<ExecResult> {
    try {
      return await this.runner(this.nixStore, args);
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
