// One local host on disk: prepare its directory, start and stop its sshd, remove it. Shared by the `local`
// target and the test harness, so both make hosts the same way.
import { mkdir, open, readFile, rename, rm, writeFile } from 'node:fs/promises';
import type { Clock } from '../../core/ports.js';
import { run, type Runner } from '../../util/exec.js';
import { authorizedKeysLine, hostLayout, renderSshdConfig, type HostLayout } from './layout.js';
import { isHostProcess, spawnHost, stopHost, waitForListening, type HostBinaries } from './sshd.js';

/** What Reconix records about a local host (its TargetRecord). */
export interface LocalHostRecord {
  dir: string;
  address: string;
  port: number;
  pid?: number;
  /** "ssh-ed25519 AAAA...", known from creation, so it is pinned without trust on first use. */
  hostPublicKey?: string;
}

export interface HostMachinery {
  runner: Runner;
  clock: Clock;
  binaries: HostBinaries;
  startTimeoutMs: number;
}

/** Read a record back from the state (or the host's own file); undefined when it is not one. */
export function parseHostRecord(value: unknown): LocalHostRecord | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const r = value as Record<string, unknown>;
  if (typeof r.dir !== 'string' || typeof r.address !== 'string' || typeof r.port !== 'number')
    return undefined;
  const record: LocalHostRecord = { dir: r.dir, address: r.address, port: r.port };
  if (typeof r.pid === 'number') record.pid = r.pid;
  if (typeof r.hostPublicKey === 'string') record.hostPublicKey = r.hostPublicKey;
  return record;
}

export async function readHostFile(layout: HostLayout): Promise<LocalHostRecord | undefined> {
  try {
    return parseHostRecord(JSON.parse(await readFile(layout.stateFile, 'utf8')));
  } catch {
    return undefined;
  }
}

export async function writeHostFile(layout: HostLayout, record: LocalHostRecord): Promise<void> {
  await writeAtomic(layout.stateFile, `${JSON.stringify(record, null, 2)}\n`);
}

async function writeAtomic(file: string, text: string, mode = 0o644): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, text, { mode });
  await rename(tmp, file);
}

async function exists(file: string): Promise<boolean> {
  return readFile(file).then(
    () => true,
    () => false,
  );
}

/**
 * Make the host's directory ready to start: its /nix (store and profiles), /root, host key, authorised client key
 * and sshd configuration. Idempotent: an existing host key is kept. Returns the host's public key.
 */
export async function prepareHost(
  layout: HostLayout,
  settings: { address: string; port: number; clientPublicKey: string },
  runner: Runner,
): Promise<string> {
  const authorized = authorizedKeysLine(settings.clientPublicKey);
  // The host's namespace mounts its own directories over these; on a machine where Nix never ran, /nix is not
  // there yet to mount over.
  await mkdir('/nix', { recursive: true, mode: 0o755 });
  await mkdir('/root', { recursive: true, mode: 0o700 });
  await mkdir(`${layout.nix}/store`, { recursive: true });
  await mkdir(`${layout.nix}/var/nix/profiles`, { recursive: true });
  await mkdir(layout.root, { recursive: true, mode: 0o700 });
  await mkdir(layout.sshd, { recursive: true, mode: 0o700 });
  const hostKey = `${layout.sshd}/host_key`;
  let pub: string;
  if (!(await exists(hostKey))) {
    await rm(`${hostKey}.pub`, { force: true });
    await run(
      'ssh-keygen',
      ['-q', '-t', 'ed25519', '-N', '', '-C', 'reconix-local-host', '-f', hostKey],
      {},
      runner,
    );
    // Just written beside the key: no second process per host (a fleet of hosts is made at once).
    pub = await readFile(`${hostKey}.pub`, 'utf8');
  } else {
    // A kept key's .pub may be stale or gone: derive it from the key itself.
    pub = (await run('ssh-keygen', ['-y', '-f', hostKey], {}, runner)).stdout;
  }
  await writeAtomic(`${layout.sshd}/authorized_keys`, authorized, 0o600);
  await writeAtomic(`${layout.sshd}/sshd_config`, renderSshdConfig(layout, settings));
  const [type, data] = pub.trim().split(/\s+/);
  return `${type} ${data}`;
}

/** Start the host's sshd unless it runs already; returns its PID and records it in the host's file. */
export async function startHost(record: LocalHostRecord, m: HostMachinery): Promise<number> {
  const layout = hostLayout(record.dir);
  if (await isHostProcess(record.pid, layout)) return record.pid!;
  const pid = await spawnHost(layout, m.binaries);
  await writeHostFile(layout, { ...record, pid });
  try {
    await waitForListening(record.address, record.port, pid, layout, m.clock, m.startTimeoutMs);
  } catch (err) {
    await stopHost(pid, layout, m.clock);
    const why = err instanceof Error ? err.message : String(err);
    throw new Error(`${why}; sshd said: ${await logTail(layout)}`, { cause: err });
  }
  return pid;
}

/** Stop the host's processes (a power cut: /run is lost, the store and profiles stay). */
export async function stopHostRecord(record: LocalHostRecord, m: HostMachinery): Promise<void> {
  if (record.pid !== undefined) await stopHost(record.pid, hostLayout(record.dir), m.clock);
}

/** Stop the host and remove its directory. */
export async function removeHost(record: LocalHostRecord, m: HostMachinery): Promise<void> {
  await stopHostRecord(record, m);
  await rm(record.dir, { recursive: true, force: true, maxRetries: 3 });
}

export async function isRunning(record: LocalHostRecord): Promise<boolean> {
  return isHostProcess(record.pid, hostLayout(record.dir));
}

async function logTail(layout: HostLayout, bytes = 2000): Promise<string> {
  try {
    const fh = await open(layout.log, 'r');
    try {
      const { size } = await fh.stat();
      const buf = Buffer.alloc(Math.min(bytes, size));
      await fh.read(buf, 0, buf.length, size - buf.length);
      return buf.toString('utf8').trim() || '(nothing)';
    } finally {
      await fh.close();
    }
  } catch {
    return '(no log)';
  }
}
