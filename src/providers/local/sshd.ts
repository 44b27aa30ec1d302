// The process of a local host: sshd in a mount namespace of its own, started detached and stopped by PID.
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { readdir, readFile, readlink } from 'node:fs/promises';
import { connect } from 'node:net';
import type { Clock } from '../../core/ports.js';
import { innerPaths, type HostLayout } from './layout.js';

export interface HostBinaries {
  unshare: string;
  sshd: string;
}

export const DEFAULT_BINARIES: HostBinaries = { unshare: '/usr/bin/unshare', sshd: '/usr/sbin/sshd' };

/**
 * Runs in the new namespace with the host directory, sshd's inner directory and sshd as $1 $2 $3: a boot, with an
 * empty /run and /run/current-system pointing at the system profile. It works from
 * the host directory's handle (cd, then `mount -c` with relative sources), so the host directory may itself lie
 * under /nix, /root or /run, which the mounts hide. sshd serves each connection from a fork without executing
 * itself again (-r): local hosts share the controller's cores, and the re-execution was about a third of the CPU a
 * connection costs them.
 */
export const HOST_SCRIPT = [
  'set -e',
  'cd "$1"',
  'mount -c --bind nix /nix',
  'mount -c --bind root /root',
  'mount -t tmpfs -o mode=755 tmpfs /run',
  'mkdir -p /run/sshd "$2"',
  // A boot: the machine comes up running its system profile's current generation, as NixOS does.
  'if [ -e /nix/var/nix/profiles/system ]; then ln -s "$(readlink -f /nix/var/nix/profiles/system)" /run/current-system; fi',
  'mount -c --bind sshd "$2"',
  'exec "$3" -D -e -r -f "$2/sshd_config"',
].join('\n');

/** The argument vector of a host: `unshare` execs `sh`, which execs sshd, so the PID spawned is sshd's. */
export function hostArgv(layout: HostLayout, bins: HostBinaries = DEFAULT_BINARIES): string[] {
  return [
    bins.unshare,
    '--mount',
    '--propagation',
    'private',
    'sh',
    '-c',
    HOST_SCRIPT,
    'reconix-host',
    layout.dir,
    layout.inner,
    bins.sshd,
  ];
}

/** Start the host, detached in a session of its own, so that it outlives the process that started it. */
export function spawnHost(layout: HostLayout, bins: HostBinaries = DEFAULT_BINARIES): Promise<number> {
  const [file, ...args] = hostArgv(layout, bins);
  const log = openSync(layout.log, 'a');
  try {
    const child = spawn(file!, args, { detached: true, stdio: ['ignore', log, log] });
    return new Promise((resolve, reject) => {
      child.once('error', reject);
      child.once('spawn', () => {
        child.unref();
        if (child.pid === undefined) reject(new Error(`${file} started without a PID`));
        else resolve(child.pid);
      });
    });
  } finally {
    closeSync(log);
  }
}

async function readProc(pid: number, file: string): Promise<string | undefined> {
  try {
    return await readFile(`/proc/${pid}/${file}`, 'utf8');
  } catch {
    return undefined;
  }
}

/** Whether `pid` is alive (not a zombie). */
export async function isAlive(pid: number): Promise<boolean> {
  const stat = await readProc(pid, 'stat');
  if (stat === undefined) return false;
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state !== 'Z' && state !== 'X';
}

/**
 * Whether `pid` is this host's sshd: alive, and running with this host's configuration. sshd rewrites its command
 * line ("sshd: /usr/sbin/sshd -D -e -f <config> [listener] ..."), so look for the words, not the argument vector.
 */
export async function isHostProcess(pid: number | undefined, layout: HostLayout): Promise<boolean> {
  if (pid === undefined || !Number.isSafeInteger(pid) || pid <= 1) return false;
  const words = (await readProc(pid, 'cmdline'))?.split(/[\0 ]/) ?? [];
  const f = words.indexOf('-f');
  return f >= 0 && words[f + 1] === innerPaths(layout).config && (await isAlive(pid));
}

/**
 * Wait until the host accepts TCP connections while its sshd runs (so that a stray listener on the same address is
 * not taken for it); fail early when its sshd has gone.
 */
export async function waitForListening(
  address: string,
  port: number,
  pid: number,
  layout: HostLayout,
  clock: Clock,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = clock.now().getTime() + timeoutMs;
  for (;;) {
    if ((await canConnect(address, port)) && (await isHostProcess(pid, layout))) return;
    if (!(await isAlive(pid)))
      throw new Error(`sshd (PID ${pid}) exited before listening on ${address}:${port}`);
    if (clock.now().getTime() > deadline)
      throw new Error(`sshd (PID ${pid}) not listening on ${address}:${port}`);
    await clock.sleep(50);
  }
}

/** Whether a TCP connection to host:port opens within a second. */
export function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.setTimeout(1000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * Stop the host whose sshd is `pid`, as a power cut would: sshd and every process left in its mount namespace
 * (sessions, activation scripts), each by its PID. Then the namespace and its /run are gone.
 */
export async function stopHost(
  pid: number,
  layout: HostLayout,
  clock: Clock,
  timeoutMs = 10_000,
): Promise<void> {
  if (!(await isHostProcess(pid, layout))) return;
  const pids = [pid, ...(await namespaceMembers(pid)).filter((p) => p !== pid)];
  signal(pids, 'SIGTERM');
  const deadline = clock.now().getTime() + timeoutMs;
  let alive = pids;
  while (alive.length > 0) {
    if (clock.now().getTime() > deadline) {
      signal(alive, 'SIGKILL');
    }
    await clock.sleep(50);
    alive = (await Promise.all(alive.map(async (p) => ((await isAlive(p)) ? p : 0)))).filter((p) => p !== 0);
    if (clock.now().getTime() > deadline + timeoutMs) {
      throw new Error(`processes ${alive.join(', ')} of the host in ${layout.dir} did not exit`);
    }
  }
}

function signal(pids: number[], sig: NodeJS.Signals): void {
  for (const p of pids) {
    try {
      process.kill(p, sig);
    } catch {
      // already gone
    }
  }
}

/** PIDs sharing the mount namespace of `pid`, never our own namespace's. */
export async function namespaceMembers(pid: number): Promise<number[]> {
  const ns = await readlink(`/proc/${pid}/ns/mnt`).catch(() => undefined);
  const own = await readlink('/proc/self/ns/mnt').catch(() => undefined);
  if (ns === undefined || ns === own) return [];
  const members: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const other = await readlink(`/proc/${entry}/ns/mnt`).catch(() => undefined);
    if (other === ns) members.push(Number(entry));
  }
  return members;
}
