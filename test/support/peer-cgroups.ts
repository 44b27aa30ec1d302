// The cgroups of a systemd test host: one per hierarchy systemd manages, made below this process's own cgroup and
// made the root of the host's cgroup namespace, so that the host's systemd manages its own tree and nothing else.
import { access, readdir, readFile, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { HostLayout } from '../../src/providers/local/layout.js';
import { eventually } from './workspace.js';

const ROOT = '/sys/fs/cgroup';

/**
 * `unified`: cgroup2 alone on /sys/fs/cgroup; `hybrid`: systemd's named v1 hierarchy on /sys/fs/cgroup/systemd and
 * cgroup2 on /sys/fs/cgroup/unified, beside the v1 controllers. The host's boot mounts the same layout.
 */
export type CgroupLayout = 'unified' | 'hybrid';

export interface PeerCgroups {
  layout: CgroupLayout;
  /** The host's cgroup in each hierarchy. */
  dirs: string[];
}

const exists = (file: string) =>
  access(file).then(
    () => true,
    () => false,
  );

/** This process's cgroup in the hierarchy of `controllers` in /proc/self/cgroup ("" for cgroup2). */
async function ownCgroup(controllers: string): Promise<string> {
  for (const line of (await readFile('/proc/self/cgroup', 'utf8')).split('\n')) {
    const m = /^\d+:([^:]*):(.*)$/.exec(line);
    if (m?.[1] === controllers) return m[2]!;
  }
  throw new Error(`this process is in no cgroup of the hierarchy "${controllers}" (/proc/self/cgroup)`);
}

/** Where the cgroups of the host in `layout` (a test host's files) are, for the cgroup layout of this machine. */
export async function peerCgroups(layout: HostLayout): Promise<PeerCgroups> {
  const name = `reconix-peer-${layout.inner.split('/').pop()}`;
  if (await exists(join(ROOT, 'cgroup.controllers')))
    return { layout: 'unified', dirs: [join(ROOT, await ownCgroup(''), name)] };
  if (
    (await exists(join(ROOT, 'systemd/cgroup.procs'))) &&
    (await exists(join(ROOT, 'unified/cgroup.procs')))
  )
    return {
      layout: 'hybrid',
      dirs: [
        join(ROOT, 'systemd', await ownCgroup('name=systemd'), name),
        join(ROOT, 'unified', await ownCgroup(''), name),
      ],
    };
  throw new Error(
    `a systemd test host needs cgroup2 on ${ROOT}, or systemd's hierarchies on ${ROOT}/systemd and ${ROOT}/unified`,
  );
}

/** Remove a cgroup and those systemd made below it, deepest first; a cgroup is busy until its last task is reaped. */
export async function removeCgroup(dir: string, timeoutMs: number): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => undefined);
  if (entries === undefined) return;
  for (const e of entries) if (e.isDirectory()) await removeCgroup(join(dir, e.name), timeoutMs);
  await eventually(
    `cgroup ${dir} removed`,
    () =>
      rmdir(dir).then(
        () => true,
        (err: NodeJS.ErrnoException) => {
          if (err.code === 'ENOENT') return true;
          if (err.code === 'EBUSY') return false;
          throw err;
        },
      ),
    timeoutMs,
    50,
  );
}
