// Where a local host keeps its files, and the sshd configuration it runs with. Pure: no I/O here.
import { createHash } from 'node:crypto';
import { isAbsolute, join, normalize } from 'node:path';

export const SSH_PORT = 22;

/** The files of one local host. Everything lives under `dir`, whose name never comes from a machine name. */
export interface HostLayout {
  dir: string;
  /** Bind-mounted on /nix inside the host. */
  nix: string;
  /** Bind-mounted on /root inside the host. */
  root: string;
  /** sshd's files, bind-mounted on `inner` inside the host. */
  sshd: string;
  /** Where `sshd` appears inside the host: under the host's own /run, named after `dir`. */
  inner: string;
  /** The record of the host (address, PID, key), kept next to it so that the directory describes itself. */
  stateFile: string;
  log: string;
}

const hash = (text: string): string => createHash('sha256').update(text).digest('hex');

/** Directory name of a machine's host: a hash, since machine names may hold any character. */
export function hostDirName(deployment: string, machine: string): string {
  return `h-${hash(`${deployment}\0${machine}`).slice(0, 24)}`;
}

export function hostLayout(dir: string): HostLayout {
  const id = hash(dir).slice(0, 16);
  return {
    dir,
    nix: join(dir, 'nix'),
    root: join(dir, 'root'),
    sshd: join(dir, 'sshd'),
    inner: `/run/reconix/${id}`,
    stateFile: join(dir, 'host.json'),
    log: join(dir, 'sshd.log'),
  };
}

/** Paths of sshd's files as sshd sees them, inside the host. */
export function innerPaths(layout: HostLayout): { config: string; hostKey: string; authorizedKeys: string } {
  return {
    config: `${layout.inner}/sshd_config`,
    hostKey: `${layout.inner}/host_key`,
    authorizedKeys: `${layout.inner}/authorized_keys`,
  };
}

/**
 * Local hosts live in plain directories that sshd's configuration and mount(8) name: refuse anything a config
 * file or a mount table would read differently (spaces, quotes, `%` tokens of sshd), rather than quote it.
 */
export function checkBaseDir(baseDir: string): string {
  const dir = normalize(baseDir).replace(/\/+$/, '');
  if (!isAbsolute(dir) || !/^\/[A-Za-z0-9._/+-]*$/.test(dir) || dir === '') {
    throw new Error(
      `local hosts need an absolute base directory of plain characters, not ${JSON.stringify(baseDir)}`,
    );
  }
  return dir;
}

export interface SshdSettings {
  address: string;
  port: number;
}

/** Key-only root login on one address; the paths are those inside the host. */
export function renderSshdConfig(layout: HostLayout, s: SshdSettings): string {
  const p = innerPaths(layout);
  return [
    '# Written by Reconix for a local host.',
    `ListenAddress ${s.address}`,
    `Port ${s.port}`,
    `HostKey ${p.hostKey}`,
    `AuthorizedKeysFile ${p.authorizedKeys}`,
    'PermitRootLogin prohibit-password',
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'UsePAM no',
    'StrictModes no',
    // The host's own /run, as on a NixOS machine: what runs on the host finds its sshd there.
    'PidFile /run/sshd.pid',
    'PrintMotd no',
    'X11Forwarding no',
    'MaxSessions 64',
    '',
  ].join('\n');
}

const KEY_LINE = /^(ssh-[a-z0-9-]+|ecdsa-sha2-[a-z0-9-]+|sk-[a-z0-9@.-]+) [A-Za-z0-9+/]+={0,2}( [^\n\r]*)?$/;

/** One `authorized_keys` line; anything else (options, several lines) is refused. */
export function authorizedKeysLine(publicKey: string): string {
  const line = publicKey.trim();
  if (!KEY_LINE.test(line)) throw new Error('the client public key is not a single OpenSSH public key line');
  return `${line}\n`;
}

/** The loopback address a local host listens on: 127.x.y.z, from a prefix of two octets like "127.77". */
export function checkAddressPrefix(prefix: string): string {
  const m = /^127\.(\d{1,3})$/.exec(prefix);
  if (!m || Number(m[1]) > 255)
    throw new Error(`address prefix must look like "127.77", not ${JSON.stringify(prefix)}`);
  return prefix;
}
