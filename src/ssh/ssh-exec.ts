// One remote command on an open ssh2 connection, collected into the same shape as a local process result.
import type { Readable } from 'node:stream';
import type { Client, ClientChannel } from 'ssh2';
import { BoundedOutput, DEFAULT_OUTPUT_LIMIT } from '../util/bounded-output.js';
import { ExecError, type ExecResult } from '../util/exec.js';

export interface SshExecOptions {
  /** What the command reads on stdin: a buffer, or a stream piped into the channel. */
  input?: string | Buffer | Readable;
  timeoutMs?: number;
  /** Bytes kept of each of stdout and stderr (head and tail, with a line saying what was cut); default 1 MiB. */
  maxOutputBytes?: number;
  /** Sees each chunk of stdout as it comes (the result keeps it too). */
  onStdout?: (chunk: Buffer) => void;
}

/**
 * Run `command` (already quoted for the remote shell) on its own channel. Resolves with the result whatever the
 * exit code; rejects when the channel cannot be opened (an `Error` from ssh2) or when the input stream fails (an
 * `ExecError` whose `cause` is the stream's error and whose stderr is what the command said until then).
 */
export function sshExec(client: Client, command: string, options: SshExecOptions = {}): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const onChannel = (err: Error | undefined, channel: ClientChannel): void => {
      if (err) {
        reject(err);
        return;
      }
      collect(channel, command, options).then(resolve, reject);
    };
    try {
      client.exec(command, onChannel);
    } catch (err) {
      reject(err instanceof Error ? err : new Error(String(err)));
    }
  });
}

function collect(channel: ClientChannel, command: string, options: SshExecOptions): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    // A host may write without end: memory stays bounded whatever it writes.
    const out = new BoundedOutput(options.maxOutputBytes ?? DEFAULT_OUTPUT_LIMIT);
    const err = new BoundedOutput(options.maxOutputBytes ?? DEFAULT_OUTPUT_LIMIT);
    let exitCode: number | null = null;
    let signal: NodeJS.Signals | null = null;
    let timedOut = false;
    let inputError: Error | undefined;
    let pending = 2; // the channel's close and the end of its stderr
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            // Ask sshd to kill the command, then stop waiting: a hung host may never close the channel.
            try {
              channel.signal('KILL');
            } catch {
              // the channel is already gone
            }
            channel.close();
            pending = 1;
            done();
          }, options.timeoutMs);

    let settled = false;
    const done = (): void => {
      if (--pending > 0 || settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      const result: ExecResult = {
        command,
        exitCode,
        signal,
        stdout: out.toString(),
        stderr: err.toString(),
        timedOut,
      };
      if (inputError) reject(new ExecError(result, inputError));
      else resolve(result);
    };

    channel.on('data', (b: Buffer) => {
      out.push(b);
      options.onStdout?.(b);
    });
    channel.stderr.on('data', (b: Buffer) => err.push(b));
    channel.stderr.once('end', done);
    channel.on('exit', (code: number | null, sig?: string) => {
      exitCode = code;
      signal = (sig as NodeJS.Signals | undefined) ?? null;
    });
    channel.once('close', done);
    channel.on('error', (e: Error) => (inputError ??= e));

    const input = options.input;
    if (input === undefined || typeof input === 'string' || Buffer.isBuffer(input)) {
      channel.end(input ?? '');
      return;
    }
    input.once('error', (e: Error) => {
      inputError ??= e;
      input.unpipe(channel);
      channel.close();
    });
    input.pipe(channel);
  });
}
