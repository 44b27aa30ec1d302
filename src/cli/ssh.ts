// `reconix ssh` and `reconix exec`: the system's ssh client, pointed at machines with Reconix's key and only their
// pinned host keys.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import pLimit from 'p-limit';
import type { SshAccess } from '../apply/operations.js';
import { singleHostKey } from '../ssh/host-key.js';
import { shellJoin } from '../util/shell.js';

/** Options ssh and scp share: only Reconix's key, and only the machine's pinned host key, under its alias. */
function identityArgs(machine: string, keyFile: string, knownHostsFile: string): string[] {
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
  ];
}

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
    ...identityArgs(machine, keyFile, knownHostsFile),
    '-p',
    String(port),
    '-l',
    user,
    host,
    ...(command.length > 0 ? ['--', shellJoin(command)] : []),
  ];
}

/**
 * The scp arguments copying `src` to `dst` on the machine (or, `from`, `src` on the machine to `dst` here), with
 * the same key and host key checks as ssh.
 */
export function scpArgs(
  target: SshTarget,
  knownHostsFile: string,
  from: boolean,
  src: string,
  dst: string,
): string[] {
  const { host, port, user } = target.access.endpoint;
  const remote = (p: string) => `${user}@${host.includes(':') ? `[${host}]` : host}:${p}`;
  return [
    ...identityArgs(target.machine, target.keyFile, knownHostsFile),
    '-P',
    String(port),
    // The scp protocol, not SFTP: hosts need no sftp subsystem, only scp (which NixOS and Debian have).
    '-O',
    '-r',
    '--',
    ...(from ? [remote(src), dst] : [src, remote(dst)]),
  ];
}

/** Run scp with the terminal attached (its progress meter); resolves with its exit code. */
export function runScp(target: SshTarget, from: boolean, src: string, dst: string): Promise<number> {
  return withKnownHosts([target], (knownHosts) =>
    exitCode(spawn('scp', scpArgs(target, knownHosts, from, src, dst), { stdio: 'inherit' })),
  );
}

/** The known_hosts line that pins `hostKey` for the machine's alias; a key that is not exactly one is refused. */
export function knownHostsLine(machine: string, hostKey: string): string {
  return `${aliasOf(machine)} ${singleHostKey(machine, hostKey)}\n`;
}

function aliasOf(machine: string): string {
  return `reconix-${machine.replace(/[^A-Za-z0-9_.-]/g, '_')}`;
}

/** A machine to reach with ssh: what sshAccess found, with a pinned key, and the key file to use. */
export interface SshTarget {
  machine: string;
  access: SshAccess & { hostKey: string };
  keyFile: string;
}

/** Run `fn` with a known_hosts file that pins every target's key (under its alias); the file goes after. */
async function withKnownHosts<T>(
  targets: readonly SshTarget[],
  fn: (file: string) => Promise<T>,
): Promise<T> {
  const lines = targets.map((t) => knownHostsLine(t.machine, t.access.hostKey)).join(''); // throws before writing
  const dir = await mkdtemp(path.join(tmpdir(), 'reconix-ssh-'));
  try {
    const file = path.join(dir, 'known_hosts');
    await writeFile(file, lines, { mode: 0o600 });
    return await fn(file);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function exitCode(child: ChildProcess): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve(code ?? (signal ? 128 : 255)));
  });
}

/** Run ssh with the terminal attached; resolves with its exit code. */
export function runSsh(target: SshTarget, command: readonly string[]): Promise<number> {
  return withKnownHosts([target], (knownHosts) =>
    exitCode(
      spawn('ssh', sshArgs(target.machine, target.access, target.keyFile, knownHosts, command), {
        stdio: 'inherit',
      }),
    ),
  );
}

/** What one line of a machine's output is written with: the line after the machine's name, the machine, the line. */
export type LineWriter = (text: string, machine: string, line: string) => void;

/** When each machine's command starts and ends. */
export interface ExecHooks {
  started?(machine: string): void;
  ended?(machine: string, code: number): void;
}

/**
 * Run `command` on every target, `parallel` at a time, without a terminal; each line of output is written as it
 * comes, after the machine's name. Resolves with each machine's exit code (255: ssh itself failed).
 */
export function execAll(
  targets: readonly SshTarget[],
  command: readonly string[],
  parallel: number,
  out: LineWriter,
  err: LineWriter,
  hooks: ExecHooks = {},
): Promise<Map<string, number>> {
  const width = Math.max(...targets.map((t) => t.machine.length));
  return withKnownHosts(targets, async (knownHosts) => {
    const codes = new Map<string, number>();
    const limit = pLimit(Math.max(1, parallel));
    await Promise.all(
      targets.map((t) =>
        limit(async () => {
          const args = [
            '-o',
            'BatchMode=yes',
            ...sshArgs(t.machine, t.access, t.keyFile, knownHosts, command),
          ];
          hooks.started?.(t.machine);
          const child = spawn('ssh', args, { stdio: ['ignore', 'pipe', 'pipe'] });
          const prefix = `${t.machine.padEnd(width)} | `;
          prefixLines(child.stdout, t.machine, prefix, out);
          prefixLines(child.stderr, t.machine, prefix, err);
          const code = await exitCode(child);
          codes.set(t.machine, code);
          hooks.ended?.(t.machine, code);
        }),
      ),
    );
    return codes;
  });
}

/** Write each whole line of `stream` with `prefix`; a last line without a newline gets one. */
function prefixLines(stream: Readable, machine: string, prefix: string, write: LineWriter): void {
  let partial = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    for (const l of lines) write(`${prefix}${l}\n`, machine, l);
  });
  stream.once('end', () => {
    if (partial !== '') write(`${prefix}${partial}\n`, machine, partial);
  });
}
