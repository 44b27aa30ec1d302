// The baseline tools, as an operator would run them by hand: nix-copy-closure and ssh, with the bench's key.
import type { SshEndpoint } from '../../src/core/model.js';
import { run } from '../../src/util/exec.js';

/** ssh options for the bench's throw-away hosts: our key, no known-hosts bookkeeping, no prompts. */
export function sshOptions(keyFile: string): string[] {
  return [
    '-i',
    keyFile,
    '-o',
    'UserKnownHostsFile=/dev/null',
    '-o',
    'StrictHostKeyChecking=no',
    '-o',
    'LogLevel=ERROR',
    '-o',
    'BatchMode=yes',
  ];
}

/** `nix-copy-closure --to root@host path` (it runs `nix-store --serve --write` on the host). */
export async function nixCopyClosure(keyFile: string, endpoint: SshEndpoint, path: string): Promise<void> {
  const env = {
    ...process.env,
    NIX_SSHOPTS: [...sshOptions(keyFile), '-p', String(endpoint.port)].join(' '),
  };
  await run('nix-copy-closure', ['--to', `${endpoint.user}@${endpoint.host}`, path], { env });
}

/** `ssh root@host <command>`; the command is a fixed shell line built by the caller from store paths. */
export async function sshRun(keyFile: string, endpoint: SshEndpoint, command: string): Promise<string> {
  const args = [...sshOptions(keyFile), '-p', String(endpoint.port), `${endpoint.user}@${endpoint.host}`];
  return (await run('ssh', [...args, '--', command])).stdout;
}

/**
 * The fastest rollout a user could script: `xargs -P <parallel>` running, per host, `nix-copy-closure --to` and
 * then `ssh` setting the profile and switching. Every word comes from the caller's store paths and loopback hosts.
 */
export async function parallelShellRollout(
  keyFile: string,
  targets: readonly { endpoint: SshEndpoint; system: string }[],
  parallel: number,
  profile: string,
): Promise<void> {
  const ssh = sshOptions(keyFile).join(' ');
  const script =
    `NIX_SSHOPTS="${ssh} -p $2" nix-copy-closure --to "$0@$1" "$3" && ` +
    `ssh ${ssh} -p "$2" "$0@$1" -- "nix-env -p ${profile} --set $3 && $3/bin/switch-to-configuration switch"`;
  const input = targets
    .map((t) => [t.endpoint.user, t.endpoint.host, String(t.endpoint.port), t.system].join(' '))
    .join('\n');
  await run('xargs', ['-P', String(parallel), '-L', '1', 'sh', '-c', script], { input: `${input}\n` });
}
