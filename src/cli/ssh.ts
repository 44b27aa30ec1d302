// `reconix ssh`: the system's ssh client, pointed at a machine with Reconix's key and only its pinned host key.
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { SshAccess } from '../reconcile/operations.js';
import { shellJoin } from '../util/shell.js';

/**
 * The ssh arguments for `access`: the host key is checked strictly against the pinned one only (under an alias,
 * so that an address reused by another machine cannot match), and the command's words are quoted for the remote
 * shell so that they arrive as they were given.
 */
export function sshArgs(
  machine: string,
  access: SshAccess & { hostKey: string },
  keyFile: string,
  knownHostsFile: string,
  command: readonly string[],
): string[] {
  const { host, port, user } = access.endpoint;
  return [
    '-i',
    keyFile,
    '-o',
    'IdentitiesOnly=yes',
    '-o',
    `UserKnownHostsFile=${knownHostsFile}`,
    '-o',
    'GlobalKnownHostsFile=/dev/null',
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    `HostKeyAlias=${aliasOf(machine)}`,
    '-p',
    String(port),
    '-l',
    user,
    host,
    ...(command.length > 0 ? ['--', shellJoin(command)] : []),
  ];
}

/** The known_hosts line that pins `hostKey` for the machine's alias. */
export function knownHostsLine(machine: string, hostKey: string): string {
  return `${aliasOf(machine)} ${hostKey}\n`;
}

function aliasOf(machine: string): string {
  return `reconix-${machine.replace(/[^A-Za-z0-9_.-]/g, '_')}`;
}

/** Run ssh with the terminal attached; resolves with its exit code. */
export async function runSsh(
  machine: string,
  access: SshAccess & { hostKey: string },
  keyFile: string,
  command: readonly string[],
): Promise<number> {
  const dir = await mkdtemp(path.join(tmpdir(), 'reconix-ssh-'));
  try {
    const knownHosts = path.join(dir, 'known_hosts');
    await writeFile(knownHosts, knownHostsLine(machine, access.hostKey), { mode: 0o600 });
    const child = spawn('ssh', sshArgs(machine, access, keyFile, knownHosts, command), { stdio: 'inherit' });
    return await new Promise<number>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (code, signal) => resolve(code ?? (signal ? 128 : 255)));
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
