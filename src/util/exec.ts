// Running local processes: argument arrays only, never a shell.
import { spawn } from 'node:child_process';

export interface ExecOptions {
  input?: string | Buffer;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
  /** Bytes of stdout kept (head and tail; default 64 MiB, room for a large fleet's evaluation as JSON). */
  maxStdoutBytes?: number;
  /** Bytes of stderr kept (head and tail; default 1 MiB). */
  maxStderrBytes?: number;
  /** Hears stderr as it arrives, besides what is kept of it. */
  onStderr?: (chunk: Buffer) => void;
  /** Told the process's PID once it runs (to watch its memory, say). */
  onSpawn?: (pid: number) => void;
  /** Stops the process as a deadline does (SIGTERM, then SIGKILL), when aborted. */
  signal?: AbortSignal;
}

/** How long a process past its deadline has, after SIGTERM, before SIGKILL. */
const KILL_GRACE_MS = 5_000;

/** What is kept of a local process's stdout unless the caller says otherwise. */
export const DEFAULT_STDOUT_LIMIT = 64 * 1024 * 1024;

import type { ExecResult } from '../core/ports.js';
import { BoundedOutput, DEFAULT_OUTPUT_LIMIT } from './bounded-output.js';
export type { ExecResult };

/** A failed command, shaped like its result. */
export class ExecError extends Error implements ExecResult {
  readonly command: string;
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
  constructor(result: ExecResult, cause?: unknown) {
    const why = result.timedOut
      ? 'timed out'
      : result.signal
        ? `was killed by ${result.signal}`
        : `exited with code ${result.exitCode}`;
    super(`${result.command} ${why}${result.stderr ? `: ${result.stderr.trim()}` : ''}`, { cause });
    this.name = 'ExecError';
    this.command = result.command;
    this.exitCode = result.exitCode;
    this.signal = result.signal;
    this.stdout = result.stdout;
    this.stderr = result.stderr;
    this.timedOut = result.timedOut;
  }
}

export type Runner = (file: string, args: readonly string[], options?: ExecOptions) => Promise<ExecResult>;

/** Run a program to completion; resolves with its result whatever the exit code. */
export const runProcess: Runner = (file, args, options = {}) =>
  new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out = new BoundedOutput(options.maxStdoutBytes ?? DEFAULT_STDOUT_LIMIT);
    const err = new BoundedOutput(options.maxStderrBytes ?? DEFAULT_OUTPUT_LIMIT);
    let timedOut = false;
    let hard: NodeJS.Timeout | undefined;
    const stop = () => {
      if (hard !== undefined) return;
      child.kill('SIGTERM');
      hard = setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS);
    };
    const onAbort = () => stop();
    if (options.signal?.aborted) stop();
    else options.signal?.addEventListener('abort', onAbort, { once: true });
    if (child.pid !== undefined) options.onSpawn?.(child.pid);
    // Past the deadline, SIGTERM first: Nix then stops the builders it started (in sessions of their own, out of
    // reach of a signal to its process group) before it exits; SIGKILL only if it has not within the grace.
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            stop();
          }, options.timeoutMs);
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => {
      err.push(b);
      options.onStderr?.(b);
    });
    const settle = () => {
      if (timer) clearTimeout(timer);
      if (hard) clearTimeout(hard);
      options.signal?.removeEventListener('abort', onAbort);
    };
    child.on('error', (e) => {
      settle();
      reject(e);
    });
    child.on('close', (exitCode, signal) => {
      settle();
      resolve({
        command: [file, ...args].join(' '),
        exitCode,
        signal,
        stdout: out.toString(),
        stderr: err.toString(),
        timedOut,
      });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input ?? '');
  });

/** Run a program and fail unless it exits 0. */
export async function run(
  file: string,
  args: readonly string[],
  options: ExecOptions = {},
  runner: Runner = runProcess,
): Promise<ExecResult> {
  const result = await runner(file, args, options);
  if (result.exitCode !== 0) throw new ExecError(result);
  return result;
}
