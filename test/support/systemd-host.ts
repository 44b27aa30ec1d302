// A test host whose processes run under a real systemd: systemd is PID 1 of a PID namespace of its own, with the
// host's mount namespace (its own /nix, /root and /run), a UTS namespace (it sets a hostname) and a cgroup
// namespace rooted in a cgroup made for it; it starts the host's sshd as a unit, so that `systemctl` in an SSH
// session talks to this systemd and nothing else. It sees only the units written into its own /run, never the
// machine's, and the kernel's settings read-only. Stopped by its PID (a power cut), after which its cgroups are
// removed: no process, mount or namespace is left.
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { access, readFile } from 'node:fs/promises';
import { innerPaths, type HostLayout } from '../../src/providers/local/layout.js';
import { canConnect, DEFAULT_BINARIES, namespaceMembers } from '../../src/providers/local/sshd.js';
import { peerCgroups, removeCgroup } from './peer-cgroups.js';
import { eventually } from './workspace.js';

export const SYSTEMD = '/lib/systemd/systemd';

/**
 * Runs in the new namespaces with the host directory, sshd's inner directory, sshd, systemd and the cgroup layout
 * (see peer-cgroups.ts) as $1 to $5: a boot of the host's /nix, /root and /run as a plain test host has, then the
 * cgroup hierarchies of the namespace (on a tmpfs first: the kernel refuses a cgroup2 mount right on top of
 * cgroup2), the units and systemd. The targets every unit's default dependencies name are written empty, so that nothing of the
 * machine's own boot is ever pulled in.
 */
export const BOOT_SCRIPT = String.raw`set -e
cd "$1"
mount -c --bind nix /nix
mount -c --bind root /root
mount -t tmpfs -o mode=755 tmpfs /run
mkdir -p /run/sshd "$2" /run/systemd/system /run/reconix-peer/generators
if [ -e /nix/var/nix/profiles/system ]; then ln -s "$(readlink -f /nix/var/nix/profiles/system)" /run/current-system; fi
mount -c --bind sshd "$2"
mount --bind /proc/sys /proc/sys
mount -o remount,bind,ro /proc/sys
mount -t tmpfs -o mode=755 cgroup /sys/fs/cgroup
if [ "$5" = unified ]; then
  mount -t cgroup2 cgroup2 /sys/fs/cgroup
else
  mkdir /sys/fs/cgroup/systemd /sys/fs/cgroup/unified
  mount -t cgroup -o none,name=systemd cgroup /sys/fs/cgroup/systemd
  mount -t cgroup2 cgroup2 /sys/fs/cgroup/unified
fi
cd /run/systemd/system
for t in sysinit basic shutdown multi-user; do
  printf '[Unit]\nDescription=%s (empty on a test host)\n' "$t" >"$t.target"
done
printf '[Unit]\nDescription=Test host\nWants=reconix-sshd.service\n' >reconix-host.target
printf '[Unit]\nDescription=sshd of the test host\n[Service]\nExecStart=%s -D -e -f %s/sshd_config\n' "$3" "$2" >reconix-sshd.service
cd /
export container=reconix SYSTEMD_UNIT_PATH=/run/systemd/system SYSTEMD_LOG_TARGET=console
export SYSTEMD_GENERATOR_PATH=/run/reconix-peer/generators SYSTEMD_ENVIRONMENT_GENERATOR_PATH=/run/reconix-peer/generators
exec "$4" --unit=reconix-host.target --default-standard-output=inherit --default-standard-error=inherit`;

/**
 * Start the host: a shell that joins the host's cgroups and execs unshare, which forks systemd. Returns the PID of
 * unshare (the spawned process) and that of systemd, once sshd accepts connections on `address`.
 */
export async function spawnPeer(
  layout: HostLayout,
  address: string,
  port: number,
  timeoutMs = 30_000,
): Promise<{ unshare: number; systemd: number }> {
  const cgroups = await peerCgroups(layout);
  const enter =
    'set -e; while [ "$1" != -- ]; do mkdir -p "$1"; echo $$ >"$1/cgroup.procs"; shift; done; shift; exec "$@"';
  const argv = [
    ...['-c', enter, 'reconix-peer', ...cgroups.dirs, '--'],
    ...[DEFAULT_BINARIES.unshare, '--pid', '--fork', '--mount-proc', '--mount', '--propagation', 'private'],
    ...['--uts', '--cgroup', 'sh', '-c', BOOT_SCRIPT, 'reconix-host', layout.dir, layout.inner],
    ...[DEFAULT_BINARIES.sshd, SYSTEMD, cgroups.layout],
  ];
  const log = openSync(layout.log, 'a');
  let unshare: number;
  try {
    const child = spawn('/bin/sh', argv, { detached: true, stdio: ['ignore', log, log] });
    unshare = await new Promise<number>((resolve, reject) => {
      child.once('error', reject);
      child.once('spawn', () => {
        child.unref();
        if (child.pid === undefined) reject(new Error('the systemd test host started without a PID'));
        else resolve(child.pid);
      });
    });
  } finally {
    closeSync(log);
  }
  try {
    const systemd = await booting('the test host systemd', () => peerSystemd(unshare), timeoutMs);
    await booting(
      `sshd of the systemd test host on ${address}:${port}`,
      async () => {
        if (!(await isAlive(systemd))) throw new Error(`systemd (PID ${systemd}) exited; see ${layout.log}`);
        return (await canConnect(address, port)) && (await sshdRuns(systemd, layout));
      },
      timeoutMs,
    );
    return { unshare, systemd };
  } catch (err) {
    await stopPeer(unshare, layout);
    const tail = (await readFile(layout.log, 'utf8').catch(() => '')).slice(-2000);
    throw new Error(`${err instanceof Error ? err.message : String(err)}; the host said: ${tail}`, {
      cause: err,
    });
  }
}

/** Poll `probe` until it returns something but undefined or false; a host that died while booting fails at once. */
async function booting<T>(
  what: string,
  probe: () => Promise<T | undefined | false>,
  timeoutMs: number,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** systemd's PID: the child of unshare, once it has exec'd systemd. */
async function peerSystemd(unshare: number): Promise<number | undefined> {
  const children = await readFile(`/proc/${unshare}/task/${unshare}/children`, 'utf8').catch(() => '');
  const pid = Number(children.trim().split(/\s+/)[0]);
  if (!Number.isSafeInteger(pid) || pid <= 1) {
    if (!(await isAlive(unshare))) throw new Error(`the test host (PID ${unshare}) exited while booting`);
    return undefined;
  }
  const cmd = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0')[0];
  return cmd === SYSTEMD ? pid : undefined;
}

async function sshdRuns(systemd: number, layout: HostLayout): Promise<boolean> {
  const config = innerPaths(layout).config;
  for (const pid of await namespaceMembers(systemd)) {
    const words = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split(/[\0 ]/);
    if (words[words.indexOf('-f') + 1] === config) return true;
  }
  return false;
}

/**
 * Stop the host whose unshare is `unshare`: SIGKILL to its systemd ends its PID namespace, and with it every
 * process of the host; unshare, left without its child, exits too. Only processes in the host's own mount namespace
 * are signalled, and unshare only when it has no child yet, so that each is reaped by its own parent. Then the
 * host's cgroups, emptied, are removed.
 */
export async function stopPeer(unshare: number, layout: HostLayout, timeoutMs = 10_000): Promise<void> {
  const members = await namespaceMembers(unshare);
  if (members.includes(unshare)) {
    const inside = members.filter((p) => p !== unshare);
    for (const pid of inside.length > 0 ? inside : [unshare]) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await eventually(
      `the processes of the test host in ${layout.dir} to exit`,
      async () => (await Promise.all(members.map(gone))).every(Boolean),
      timeoutMs,
      50,
    );
  }
  for (const cg of (await peerCgroups(layout)).dirs) await removeCgroup(cg, timeoutMs);
}

/** Exited and reaped: no zombie either, which would still name the host's namespaces. */
async function gone(pid: number): Promise<boolean> {
  return access(`/proc/${pid}`).then(
    () => false,
    () => true,
  );
}

async function isAlive(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  if (stat === undefined) return false;
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state !== 'Z' && state !== 'X';
}
