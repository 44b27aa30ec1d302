// Opens one SSH connection per host session (ssh2, key-only), checking the host's key against its pin.
import { Client, type ConnectConfig, type ServerHostKeyAlgorithm } from 'ssh2';
import { Reason } from '../api/conditions.js';
import { ReconixError } from '../core/errors.js';
import type { SshEndpoint } from '../core/model.js';
import type { HostConnector, HostKeyCheck, HostSession, SshAuth } from '../core/ports.js';
import {
  fingerprint,
  formatPublicKey,
  hostKeyAlgorithms,
  parsePublicKey,
  type PublicKey,
} from './host-key.js';
import { endpointName, SshHostSession } from './session.js';

export interface SshHostConnectorOptions {
  /** How long the TCP connect and SSH handshake may take. Default 10 s. */
  readyTimeoutMs?: number;
  /** SSH keepalive period; a host that misses three in a row is dropped. Default 15 s. */
  keepaliveIntervalMs?: number;
  /** Appended to a host key mismatch: how an operator accepts a key that changed on purpose. */
  acceptKeyHint?: string;
  /** Limit for a session's short commands (observe, path checks, profile changes). Default 120 s. */
  commandTimeoutMs?: number;
  /** The serve protocol version announced to hosts (see ServeOptions); default 2.6. */
  serveProtocolVersion?: number;
  /** Limit for one copy of a closure to a host; default 30 min. */
  copyTimeoutMs?: number;
}

const DEFAULT_ACCEPT_HINT =
  'If the host was rebuilt on purpose, check the new fingerprint out of band, then replace the pinned key ' +
  "(deployment.hostPublicKey in the spec, or the machine's hostKey recorded in the state).";

export class SshHostConnector implements HostConnector {
  private readonly options: Required<SshHostConnectorOptions>;

  constructor(options: SshHostConnectorOptions = {}) {
    this.options = {
      readyTimeoutMs: options.readyTimeoutMs ?? 10_000,
      keepaliveIntervalMs: options.keepaliveIntervalMs ?? 15_000,
      acceptKeyHint: options.acceptKeyHint ?? DEFAULT_ACCEPT_HINT,
      commandTimeoutMs: options.commandTimeoutMs ?? 120_000,
      serveProtocolVersion: options.serveProtocolVersion ?? 0x206,
      copyTimeoutMs: options.copyTimeoutMs ?? 30 * 60_000,
    };
  }

  connect(endpoint: SshEndpoint, auth: SshAuth, check: HostKeyCheck): Promise<HostSession> {
    const name = endpointName(endpoint);
    return new Promise((resolve, reject) => {
      const pinned = parsePin(name, check.pinned); // a throw here rejects
      const client = new Client();
      let presented: Buffer | undefined;
      let settled = false;
      const settle = (err: Error | undefined): void => {
        if (settled) return;
        settled = true;
        client
          .removeListener('ready', onReady)
          .removeListener('error', onError)
          .removeListener('close', onClose);
        if (!err) {
          const key = formatPublicKey(presented ?? Buffer.alloc(0));
          const { commandTimeoutMs, serveProtocolVersion, copyTimeoutMs } = this.options;
          const options = { commandTimeoutMs, serveProtocolVersion, copyTimeoutMs };
          resolve(new SshHostSession(client, endpoint, key, options));
          return;
        }
        client.on('error', () => undefined); // late errors of a connection given up on
        client.end();
        reject(err);
      };
      const onReady = (): void => settle(undefined);
      const onError = (err: Error): void => {
        if (pinned && presented && !presented.equals(pinned.blob)) {
          settle(this.mismatch(name, pinned, presented, err));
        } else {
          settle(
            new ReconixError(Reason.HostUnreachable, `cannot reach ${name}: ${err.message}`, { cause: err }),
          );
        }
      };
      const onClose = (): void => onError(new Error('connection closed during the SSH handshake'));
      client.on('ready', onReady).on('error', onError).on('close', onClose);

      const config: ConnectConfig = {
        host: endpoint.host,
        port: endpoint.port,
        username: endpoint.user,
        privateKey: auth.privateKey,
        authHandler: ['publickey'],
        readyTimeout: this.options.readyTimeoutMs,
        keepaliveInterval: this.options.keepaliveIntervalMs,
        keepaliveCountMax: 3,
        hostVerifier: (key: Buffer): boolean => {
          presented = Buffer.from(key);
          return !pinned || presented.equals(pinned.blob);
        },
      };
      // Ask for the pinned key's type, so a host with several keys presents the one we can compare.
      const algorithms = pinned && hostKeyAlgorithms(pinned.type);
      if (algorithms) config.algorithms = { serverHostKey: algorithms as ServerHostKeyAlgorithm[] };
      try {
        client.connect(config);
      } catch (err) {
        const why = err instanceof Error ? err.message : String(err);
        settle(new ReconixError(Reason.HostUnreachable, `cannot connect to ${name}: ${why}`, { cause: err }));
      }
    });
  }

  private mismatch(name: string, pinned: PublicKey, presented: Buffer, cause: Error): ReconixError {
    const msg =
      `host key of ${name} changed: pinned ${pinned.type} ${fingerprint(pinned.blob)}, ` +
      `host presents ${formatPublicKey(presented).split(' ')[0]} ${fingerprint(presented)}. ` +
      `Refusing to connect. ${this.options.acceptKeyHint}`;
    return new ReconixError(Reason.HostKeyMismatch, msg, { cause, reaction: 'stall' });
  }
}

function parsePin(name: string, pinned: string | undefined): PublicKey | undefined {
  if (pinned === undefined) return undefined;
  try {
    return parsePublicKey(pinned);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new ReconixError(Reason.HostKeyMismatch, `the pinned host key of ${name} is unusable: ${why}`, {
      cause: err,
      reaction: 'stall',
    });
  }
}
