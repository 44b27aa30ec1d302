// SSH public keys as OpenSSH writes them ("ssh-ed25519 AAAA... comment") and their SHA256 fingerprints.
import { createHash } from 'node:crypto';
import { Reason } from '../api/conditions.js';
import { ReconixError } from '../core/errors.js';

export interface PublicKey {
  /** Key type, e.g. "ssh-ed25519". */
  type: string;
  /** The key blob in SSH wire format (what the base64 part of a key line decodes to). */
  blob: Buffer;
}

/** Parse a key line ("type base64 [comment]"); throws on anything that is not a well-formed key. */
export function parsePublicKey(line: string): PublicKey {
  const [type, data] = line.trim().split(/\s+/);
  if (!type || !data || !/^[A-Za-z0-9+/]+={0,2}$/.test(data)) {
    throw new Error(`not an SSH public key: ${JSON.stringify(line.slice(0, 80))}`);
  }
  const blob = Buffer.from(data, 'base64');
  const inner = blobType(blob);
  if (inner !== type) throw new Error(`SSH public key says ${type} but its data holds ${inner ?? 'no type'}`);
  return { type, blob };
}

// An optional comment after the key, as in a .pub file, is dropped: nothing but type and data is written anywhere.
const ONE_KEY =
  // eslint-disable-next-line no-control-regex
  /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(?:256|384|521)) ([A-Za-z0-9+/]+={0,2})(?: [^\x00-\x1f\x7f]*)?$/;

/**
 * `key` as exactly one "ssh-<type> <base64> [comment]" host key (surrounding spaces aside) whose data holds that
 * type, in the form Reconix writes (the comment dropped); anything else (a second line, options) is an error naming the machine, so
 * that nothing but that key reaches a known_hosts file.
 */
export function singleHostKey(machine: string, key: string): string {
  const m = ONE_KEY.exec(key.trim());
  const inner = m ? blobType(Buffer.from(m[2] ?? '', 'base64')) : undefined;
  if (!m || inner !== m[1]) {
    throw new ReconixError(
      Reason.InvalidManifest,
      `${machine}: deployment.hostPublicKey is not one SSH host key ("ssh-ed25519 AAAA..." on one line): ${JSON.stringify(key.slice(0, 80))}`,
      { reaction: 'stall' },
    );
  }
  return `${m[1]} ${m[2]}`;
}

/** The type name an SSH key blob starts with (a uint32 length, then the name). */
export function blobType(blob: Buffer): string | undefined {
  if (blob.length < 4) return undefined;
  const len = blob.readUInt32BE(0);
  if (len === 0 || len > 64 || blob.length < 4 + len) return undefined;
  return blob.subarray(4, 4 + len).toString('latin1');
}

/** "type base64", the form Reconix pins and compares. */
export function formatPublicKey(blob: Buffer): string {
  return `${blobType(blob) ?? 'unknown'} ${blob.toString('base64')}`;
}

/** OpenSSH's fingerprint: "SHA256:" and the base64 of the blob's SHA-256, without padding. */
export function fingerprint(key: Buffer | string): string {
  const blob = typeof key === 'string' ? parsePublicKey(key).blob : key;
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

const KEY_ALGORITHMS: Record<string, string[]> = {
  'ssh-ed25519': ['ssh-ed25519'],
  'ecdsa-sha2-nistp256': ['ecdsa-sha2-nistp256'],
  'ecdsa-sha2-nistp384': ['ecdsa-sha2-nistp384'],
  'ecdsa-sha2-nistp521': ['ecdsa-sha2-nistp521'],
  'ssh-rsa': ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'],
};

/** Host key algorithms that make a server present a key of this type (undefined: leave the defaults). */
export function hostKeyAlgorithms(type: string): string[] | undefined {
  return Object.hasOwn(KEY_ALGORITHMS, type) ? KEY_ALGORITHMS[type] : undefined;
}
