// Running the built reconix command as a child process, the way a user does, or the test entry point that binds
// ec2 machines to test hosts and can kill itself at an AWS call (reconix-test-cli.ts).
import { spawn } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CRASH_MARKER } from './aws-hooks.js';

const here = dirname(fileURLToPath(import.meta.url));
/** dist/src/cli/bin.js, next to this file once built. */
export const CLI = join(resolve(here, '../..'), 'src/cli/bin.js');
/** dist/test/support/reconix-test-cli.js. */
export const TEST_CLI = join(here, 'reconix-test-cli.js');

/** Grace between the timeout's SIGTERM and a SIGKILL, for a child that ignores SIGTERM. */
const KILL_GRACE_MS = 10_000;

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** The harness stopped the child (SIGTERM, then SIGKILL) because it ran out of time. */
  timedOut: boolean;
  /** The crash point ("after:3") at which the test entry killed itself, as it said on stderr just before. */
  killedAt?: string;
}

export function reconix(
  args: string[],
  env: Record<string, string> = {},
  timeoutMs = 240_000,
): Promise<CliRun> {
  return runEntry(CLI, args, env, timeoutMs);
}

/** The test entry point: see reconix-test-cli.ts for the TEST_CLI_* variables it reads. */
export function reconixUnderTest(
  args: string[],
  env: Record<string, string> = {},
  timeoutMs = 240_000,
): Promise<CliRun> {
  return runEntry(TEST_CLI, args, env, timeoutMs);
}

function runEntry(
  entry: string,
  args: string[],
  env: Record<string, string>,
  timeoutMs: number,
): Promise<CliRun> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [entry, ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    let grace: NodeJS.Timeout | undefined;
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString('utf8')));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString('utf8')));
    // Not SIGKILL first: an injected crash is a SIGKILL, and a hang must not look like one.
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGTERM');
      grace = setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS);
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (grace) clearTimeout(grace);
      const marker = stderr.split('\n').find((l) => l.startsWith(CRASH_MARKER));
      const killedAt = marker?.slice(CRASH_MARKER.length).split(' ')[0];
      resolvePromise({ code, signal, stdout, stderr, timedOut, ...(killedAt ? { killedAt } : {}) });
    });
  });
}
