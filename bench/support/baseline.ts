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
