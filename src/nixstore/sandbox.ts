// What a sandboxed build sees of the host besides its inputs. The mini builder's derivations run /bin/sh with a
// few coreutils; without nixpkgs there is no shell in the store, so the sandbox gets copies of the host's. Copies,
// never the host's own directories: Nix 2.8 bind-mounts sandbox paths writable, and without build users the
// builder is root to the host's files, so a build could otherwise replace /usr/bin/cp for the controller.
import { access, chmod, constants, copyFile, mkdir, symlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Runner } from '../util/exec.js';

/** The commands of the mini builder's scripts, and a few that hand-written derivations commonly use. */
export const SANDBOX_COMMANDS = [
  'sh',
  'cat',
  'chmod',
  'cp',
  'dirname',
  'ln',
  'ls',
  'mkdir',
  'mv',
  'rm',
  'sed',
] as const;

export interface SandboxOptions {
  /** Where each build's copy of the tools is made (a fresh directory per build, removed afterwards). */
  toolDir: string;
  /** Commands copied into the sandbox's /usr/bin (and /bin); default SANDBOX_COMMANDS. */
  commands?: readonly string[];
  /** Directories searched for the commands; default /usr/bin and /bin. */
  searchPath?: readonly string[];
}

/** The shared libraries a program loads, as ldd names them (the loader included). */
export function librariesOf(lddOutput: string): string[] {
  const libs: string[] = [];
  for (const line of lddOutput.split('\n')) {
    const m = /=>\s*(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(/.exec(line);
    if (m?.[1]) libs.push(m[1]);
  }
  return libs;
}

/** A host path's place in the toolbox: /lib and /lib64 go under usr/, as on a merged-/usr system. */
function placeOf(path: string): string {
  return path.replace(/^\/(lib|lib64|bin)\//, '/usr/$1/');
}

/**
 * Make a toolbox under `dir` (usr/bin, usr/lib*, with bin, lib and lib64 linking into usr/) and return the
 * `sandbox-paths` value that mounts it.
 */
export async function makeToolbox(
  dir: string,
  runner: Runner,
  o: Pick<SandboxOptions, 'commands' | 'searchPath'> = {},
): Promise<string> {
  const search = o.searchPath ?? ['/usr/bin', '/bin'];
  const files = new Map<string, string>(); // place in the toolbox -> host file
  for (const command of o.commands ?? SANDBOX_COMMANDS) {
    const found = await firstExisting(search.map((d) => join(d, command)));
    if (!found) throw new Error(`cannot find ${command} for the build sandbox in ${search.join(', ')}`);
    files.set(`/usr/bin/${command}`, found);
    const ldd = await runner('ldd', [found]);
    // A static program has no libraries; ldd then exits 1.
    for (const lib of ldd.exitCode === 0 ? librariesOf(ldd.stdout) : []) files.set(placeOf(lib), lib);
  }
  for (const [place, host] of files) {
    const target = join(dir, place);
    await mkdir(dirname(target), { recursive: true });
    await copyFile(host, target);
    await chmod(target, 0o555);
  }
  await mkdir(join(dir, 'usr/lib'), { recursive: true });
  await mkdir(join(dir, 'usr/lib64'), { recursive: true });
  for (const link of ['bin', 'lib', 'lib64']) await symlink(`usr/${link}`, join(dir, link));
  return ['/usr', '/bin', '/lib', '/lib64'].map((p) => `${p}=${join(dir, p)}`).join(' ');
}

async function firstExisting(paths: string[]): Promise<string | undefined> {
  for (const p of paths) {
    if (
      await access(p, constants.X_OK).then(
        () => true,
        () => false,
      )
    )
      return p;
  }
  return undefined;
}
