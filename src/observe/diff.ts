// The closure diffs of --diff: the new systems built here, the running ones asked from their hosts (whose store
// is the truth: the running system may not be in the local store), compared by src/plan/closure-diff.ts.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { lstat, readdir, readFile, readlink, realpath } from 'node:fs/promises';
import { join } from 'node:path';
import { Reason } from '../api/conditions.js';
import type { ClosureDiff } from '../api/output.js';
import { ReconixError } from '../core/errors.js';
import type { SystemRef } from '../core/model.js';
import type { HostSession } from '../core/ports.js';
import {
  closureDiff,
  parseDryActivate,
  type EtcTree,
  type SizedPath,
  type UnitChanges,
} from '../plan/closure-diff.js';
import type { HostViews, MachineFailure, Sessions } from '../report/outcomes.js';
import { assertStorePath, shellQuote } from '../util/shell.js';
import { tailLines } from '../util/text.js';
import { machineFailure, type RunContext } from './run.js';

export interface Diffs {
  diffs: Record<string, ClosureDiff>;
  failures: MachineFailure[];
}

/**
 * Diff each connected machine whose host runs something other than its new system: build the new systems (in
 * one Nix call), then per machine read the running closure and etc tree from the host. A NixOS system is also
 * copied to the host, to ask its switch-to-configuration dry-activate which units would change.
 */
export async function diffSystems(
  ctx: RunContext,
  desired: Readonly<Record<string, SystemRef>>,
  sessions: Sessions,
  views: HostViews,
): Promise<Diffs> {
  const { deps } = ctx;
  const names = Object.keys(desired).filter((n) => {
    const v = views[n];
    return sessions.has(n) && v?.ok && v.observation.currentSystem !== desired[n]?.outPath;
  });
  const result: Diffs = { diffs: {}, failures: [] };
  if (names.length === 0) return result;
  try {
    await deps.store.realise(
      names.map((n) => desired[n]!.drvPath),
      deps.gcRootDir,
    );
  } catch (err) {
    for (const n of names) {
      result.failures.push({ machine: n, failure: machineFailure(ctx, n, err, Reason.BuildFailed) });
    }
    return result;
  }
  const closures = await deps.store.closures(names.map((n) => desired[n]!.outPath));
  await Promise.all(
    names.map(async (n) => {
      const to = desired[n]!.outPath;
      const view = views[n];
      const from = view?.ok ? view.observation.currentSystem : undefined;
      try {
        const session = sessions.get(n)!;
        const after = closures.get(to) ?? [];
        const running = from ? await hostSystem(session, from) : { closure: [], etc: new Map() };
        const units = isNixos(to) ? await dryActivate(session, to, after, deps.store) : undefined;
        result.diffs[n] = closureDiff({
          ...(from ? { from } : {}),
          to,
          before: running.closure,
          after,
          etcBefore: running.etc,
          etcAfter: await localEtc(to),
          ...(units ? { units } : {}),
        });
      } catch (err) {
        result.failures.push({ machine: n, failure: machineFailure(ctx, n, err, Reason.HostUnreachable) });
      }
    }),
  );
  return result;
}

/** NixOS's toplevel links its systemd; the mini builder's has none, and no units to restart. */
function isNixos(system: string): boolean {
  return existsSync(join(system, 'systemd'));
}

const SECTION = '--reconix-section--';

/**
 * One command for the running system's closure with NAR sizes (nix-store --query, as nix-copy-closure asks)
 * and its etc tree: each symlink's target, each plain file's SHA-256 (GNU find and sha256sum, as NixOS has).
 */
function hostQuery(system: string): string {
  const s = shellQuote(system);
  return [
    'set -e',
    `p=$(nix-store -q --requisites ${s})`,
    'printf "%s\\n" "$p"',
    `echo ${SECTION}`,
    'nix-store -q --size $p',
    `echo ${SECTION}`,
    `if cd ${s}/etc 2>/dev/null; then find . -type l -printf '%l\\t%P\\n'; echo ${SECTION}; ` +
      `find . -type f -exec sha256sum {} +; fi`,
  ].join('\n');
}

export interface HostSystem {
  closure: SizedPath[];
  etc: EtcTree;
}

/** What the host's store says of a system it has: its closure with sizes, and its etc tree. */
export async function hostSystem(session: HostSession, system: string): Promise<HostSystem> {
  assertStorePath(system);
  if (!session.runCommand) throw new Error('this host session cannot run commands');
  const r = await session.runCommand(hostQuery(system));
  if (r.exitCode !== 0) {
    throw new ReconixError(
      Reason.HostUnreachable,
      `reading the closure of ${system} on the host failed (exit code ${r.exitCode}): ${tailLines(r.stderr, 20)}`,
    );
  }
  return parseHostSystem(r.stdout);
}

export function parseHostSystem(stdout: string): HostSystem {
  const [paths = '', sizes = '', links = '', files = ''] = stdout.split(`${SECTION}\n`);
  const lines = (s: string) => s.split('\n').filter((l) => l !== '');
  const ps = lines(paths);
  const ns = lines(sizes).map(Number);
  if (ps.length !== ns.length || ns.some((n) => !Number.isSafeInteger(n))) {
    throw new Error(`the host answered ${ps.length} paths and ${ns.length} sizes`);
  }
  const etc = new Map<string, string>();
  for (const l of lines(links)) {
    const tab = l.indexOf('\t');
    if (tab > 0) etc.set(l.slice(tab + 1), `link:${l.slice(0, tab)}`);
  }
  for (const l of lines(files)) {
    const m = /^([0-9a-f]{64}) [ *]\.\/(.*)$/.exec(l);
    if (m) etc.set(m[2]!, `sha256:${m[1]}`);
  }
  return { closure: ps.map((path, i) => ({ path, narSize: ns[i]! })), etc };
}

/** The new system's etc tree, read here the way hostQuery reads the running one's. */
export async function localEtc(system: string): Promise<EtcTree> {
  const tree = new Map<string, string>();
  let root: string;
  try {
    root = await realpath(join(system, 'etc'));
  } catch {
    return tree;
  }
  const walk = async (rel: string): Promise<void> => {
    for (const e of await readdir(join(root, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      const abs = join(root, r);
      const st = await lstat(abs);
      if (st.isSymbolicLink()) tree.set(r, `link:${await readlink(abs)}`);
      else if (st.isDirectory()) await walk(r);
      else if (st.isFile()) {
        tree.set(
          r,
          `sha256:${createHash('sha256')
            .update(await readFile(abs))
            .digest('hex')}`,
        );
      }
    }
  };
  await walk('');
  return tree;
}

/** Copy a NixOS system's missing paths to the host, then ask its switch-to-configuration what would change. */
async function dryActivate(
  session: HostSession,
  system: string,
  closure: Parameters<HostSession['importPaths']>[0],
  store: Parameters<HostSession['importPaths']>[1],
): Promise<UnitChanges> {
  const missing = new Set(await session.missingPaths(closure.map((p) => p.path)));
  if (missing.size > 0)
    await session.importPaths(
      closure.filter((p) => missing.has(p.path)),
      store,
    );
  const cmd = `${shellQuote(`${system}/bin/switch-to-configuration`)} dry-activate 2>&1`;
  const r = await session.runCommand!(cmd);
  if (r.exitCode !== 0) {
    throw new ReconixError(
      Reason.ActivationFailed,
      `switch-to-configuration dry-activate of ${system} exited with code ${r.exitCode}: ${tailLines(r.stdout, 20)}`,
    );
  }
  return parseDryActivate(r.stdout);
}
