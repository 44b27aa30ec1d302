// Test hosts: namespaced sshd hosts made by the same code as the `local` target, for tests of SSH and the `none`
// target, plain or under a real systemd. Every process is stopped by its PID and every directory removed by destroy().
import { mkdtemp, readFile, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock } from '../../src/core/clock.js';
import { run, runProcess, type ExecResult } from '../../src/util/exec.js';
import { MarkerFileAllocator } from '../../src/providers/local/addresses.js';
import {
  prepareHost,
  removeHost,
  startHost,
  stopHostRecord,
  type HostMachinery,
  type LocalHostRecord,
} from '../../src/providers/local/host.js';
import { hostLayout } from '../../src/providers/local/layout.js';
import { DEFAULT_BINARIES } from '../../src/providers/local/sshd.js';
import { spawnPeer, stopPeer } from './systemd-host.js';

export interface ClientKey {
  /** Private key file (OpenSSH format). */
  file: string;
  privateKey: Buffer;
  /** "ssh-ed25519 AAAA... comment" */
  publicKey: string;
  cleanup(): Promise<void>;
}

/** A fresh ed25519 client key pair in a temporary directory. */
export async function makeClientKey(): Promise<ClientKey> {
  const dir = await mkdtemp(join(tmpdir(), 'reconix-client-key-'));
  const file = join(dir, 'id_ed25519');
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'reconix-test', '-f', file]);
  return {
    file,
    privateKey: await readFile(file),
    publicKey: (await readFile(`${file}.pub`, 'utf8')).trim(),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

export interface TestHostOptions {
  clientPublicKey: string;
  /** Two octets; test hosts use 127.78.x.y by default, apart from the `local` target's 127.77. */
  addressPrefix?: string;
  /**
   * Run the host under a real systemd (PID 1 of a PID namespace of its own, see systemd-host.ts), so that
   * `systemctl` in its SSH sessions talks to it; plain hosts have no systemd.
   */
  systemd?: boolean;
}

export interface TestHost {
  readonly dir: string;
  readonly address: string;
  readonly port: number;
  /** "ssh-ed25519 AAAA..." */
  readonly hostKey: string;
  /** sshd's PID (with `systemd`, the host's systemd's), or undefined after kill(). */
  readonly pid: number | undefined;
  /** Kill sshd and everything in the host's namespace by PID: a power cut (/run is lost, /nix stays). */
  kill(): Promise<void>;
  /** Start sshd again (a boot). */
  restart(): Promise<void>;
  /** Run a command inside the host's mount namespace. */
  exec(argv: string[]): Promise<ExecResult>;
  /** Lines of /nix/var/reconix/activations.log, written by the test systems' switch-to-configuration. */
  readActivations(): Promise<string[]>;
  /** Target of the host's /run/current-system, if any. */
  currentSystem(): Promise<string | undefined>;
  /** Stop the host and remove its directory and address. */
  destroy(): Promise<void>;
}

const machinery: HostMachinery = {
  runner: runProcess,
  clock: systemClock,
  binaries: DEFAULT_BINARIES,
  startTimeoutMs: 10_000,
};

const addressMarkers = join(tmpdir(), 'reconix-test-addresses');

export async function createTestHost(opts: TestHostOptions): Promise<TestHost> {
  const dir = await mkdtemp(join(tmpdir(), 'reconix-test-host-'));
  const addresses = new MarkerFileAllocator(addressMarkers, opts.addressPrefix ?? '127.78');
  const address = await addresses.claim(dir);
  let record: LocalHostRecord = { dir, address, port: 22 };
  // The PID the host is known by: sshd's, or with `systemd` unshare's, whose child is the host's systemd.
  let peer: { unshare: number; systemd: number } | undefined;
  const start = async (): Promise<number> => {
    if (!opts.systemd) return startHost(record, machinery);
    peer = await spawnPeer(hostLayout(dir), address, 22);
    return peer.systemd;
  };
  const stop = async (): Promise<void> => {
    if (!opts.systemd) return stopHostRecord(record, machinery);
    if (peer) await stopPeer(peer.unshare, hostLayout(dir));
    peer = undefined;
  };
  try {
    const hostKey = await prepareHost(
      hostLayout(dir),
      { address, port: 22, clientPublicKey: opts.clientPublicKey },
      runProcess,
    );
    record = { ...record, hostPublicKey: hostKey, pid: await start() };
  } catch (err) {
    await stop();
    await removeHost(record, machinery);
    await addresses.release(address, dir);
    throw err;
  }
  const inHost = (path: string): string => {
    if (record.pid === undefined) throw new Error('the test host is not running');
    return `/proc/${record.pid}/root${path}`;
  };
  // A systemd host's commands also join its PID namespace, so that systemctl finds the host's systemd as PID 1.
  const namespaces = opts.systemd ? ['--mount', '--pid', '--uts'] : ['--mount'];
  return {
    dir,
    address,
    port: 22,
    hostKey: record.hostPublicKey!,
    get pid() {
      return record.pid;
    },
    async kill() {
      await stop();
      const { pid: _gone, ...rest } = record;
      record = rest;
    },
    async restart() {
      record = { ...record, pid: await start() };
    },
    async exec(argv) {
      if (record.pid === undefined) throw new Error('the test host is not running');
      return runProcess('nsenter', [...namespaces, '--target', String(record.pid), '--', ...argv]);
    },
    async readActivations() {
      const text = await readFile(join(dir, 'nix/var/reconix/activations.log'), 'utf8').catch(() => '');
      return text.split('\n').filter(Boolean);
    },
    async currentSystem() {
      return readlink(inHost('/run/current-system')).catch(() => undefined);
    },
    async destroy() {
      await stop();
      await removeHost(record, machinery);
      await addresses.release(address, dir);
    },
  };
}
