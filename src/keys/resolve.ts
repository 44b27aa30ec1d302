// Where a key's content comes from, read on the controller at deploy time and kept in memory only. Errors name the
// machine and the key, never the content, nor what a failing command printed (it may be part of the secret).
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { Reason } from '../api/conditions.js';
import { ReconixError } from '../core/errors.js';
import type { DesiredKey } from './spec.js';

export interface KeySource {
  /** Keys declared outside the network files (Kubernetes' spec.keys), by machine and name. */
  declared?(machines: readonly string[]): Record<string, Record<string, DesiredKey>>;
  /** The content of one key. */
  read(machine: string, name: string, key: DesiredKey): Promise<Buffer>;
}

export interface LocalKeySourceOptions {
  /** Limit for a keyCommand; default 60 s. */
  commandTimeoutMs?: number;
  /** Largest key accepted (a command printing without end must not fill memory); default 1 MiB. */
  maxBytes?: number;
}

const unavailable = (machine: string, name: string, why: string) =>
  new ReconixError(Reason.KeyUnavailable, `${machine}: key ${JSON.stringify(name)}: ${why}`);

/** Text, keyFile and keyCommand, as the CLI and the directory controller read them. */
export function localKeySource(opts: LocalKeySourceOptions = {}): KeySource {
  const maxBytes = opts.maxBytes ?? 1 << 20;
  return {
    async read(machine, name, key) {
      if (key.text !== undefined) return Buffer.from(key.text, 'utf8');
      if (key.keyFile !== undefined) {
        const content = await fs.readFile(key.keyFile).catch((err: NodeJS.ErrnoException) => {
          throw unavailable(machine, name, `cannot read keyFile ${key.keyFile} (${err.code ?? 'error'})`);
        });
        if (content.length > maxBytes)
          throw unavailable(machine, name, `keyFile is larger than ${maxBytes} bytes`);
        return content;
      }
      if (key.keyCommand !== undefined) {
        return runKeyCommand(machine, name, key.keyCommand, opts.commandTimeoutMs ?? 60_000, maxBytes);
      }
      if (key.secretRef) {
        throw unavailable(machine, name, 'a Secret is a source only in Kubernetes mode');
      }
      throw unavailable(machine, name, 'it has no source (text, keyFile or keyCommand)');
    },
  };
}

/** Run argv without a shell; its stdout is the key. Its stderr is dropped: it may echo the secret. */
function runKeyCommand(
  machine: string,
  name: string,
  argv: readonly string[],
  timeoutMs: number,
  maxBytes: number,
): Promise<Buffer> {
  const [file, ...args] = argv;
  const program = file ?? '';
  if (!program) return Promise.reject(unavailable(machine, name, 'keyCommand is empty'));
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { stdio: ['ignore', 'pipe', 'ignore'] });
    const out: Buffer[] = [];
    let size = 0;
    let failure: string | undefined;
    const timer = setTimeout(() => {
      failure = `keyCommand ${JSON.stringify(program)} timed out after ${timeoutMs} ms`;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.on('data', (b: Buffer) => {
      size += b.length;
      if (size > maxBytes) {
        failure ??= `keyCommand ${JSON.stringify(program)} printed more than ${maxBytes} bytes`;
        child.kill('SIGKILL');
      } else out.push(b);
    });
    child.on('error', (err: NodeJS.ErrnoException) => {
      failure ??= `cannot run keyCommand ${JSON.stringify(program)} (${err.code ?? 'error'})`;
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (failure) reject(unavailable(machine, name, failure));
      else if (code !== 0) {
        const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
        reject(unavailable(machine, name, `keyCommand ${JSON.stringify(program)} ${how}`));
      } else resolve(Buffer.concat(out));
    });
  });
}
