// Ed25519 key pairs in OpenSSH's formats, made with Node's crypto: no temporary files, no subprocess.
import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';

export interface SshKeyPair {
  /** "ssh-ed25519 AAAA..." (no comment). */
  publicKey: string;
  /** "-----BEGIN OPENSSH PRIVATE KEY-----..." */
  privateKey: string;
}

const string = (b: Buffer | string): Buffer => {
  const data = typeof b === 'string' ? Buffer.from(b, 'utf8') : b;
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  return Buffer.concat([len, data]);
};
const uint32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
};

function rawKeys(privateKey: KeyObject): { seed: Buffer; pub: Buffer } {
  const jwk = privateKey.export({ format: 'jwk' });
  if (!jwk.d || !jwk.x) throw new Error('not an Ed25519 private key');
  return { seed: Buffer.from(jwk.d, 'base64url'), pub: Buffer.from(jwk.x, 'base64url') };
}

function publicBlob(pub: Buffer): Buffer {
  return Buffer.concat([string('ssh-ed25519'), string(pub)]);
}

/** The "openssh-key-v1" private key format, unencrypted, as `ssh-keygen -t ed25519 -N ''` writes it. */
function opensshPrivateKey(seed: Buffer, pub: Buffer, comment: string): string {
  const check = randomBytes(4);
  let secret = Buffer.concat([
    check,
    check,
    string('ssh-ed25519'),
    string(pub),
    string(Buffer.concat([seed, pub])),
    string(comment),
  ]);
  const pad: number[] = [];
  for (let i = 1; (secret.length + pad.length) % 8 !== 0; i++) pad.push(i);
  secret = Buffer.concat([secret, Buffer.from(pad)]);
  const body = Buffer.concat([
    Buffer.from('openssh-key-v1\0', 'latin1'),
    string('none'),
    string('none'),
    string(''),
    uint32(1),
    string(publicBlob(pub)),
    string(secret),
  ]);
  const lines = body.toString('base64').match(/.{1,70}/g) ?? [];
  return ['-----BEGIN OPENSSH PRIVATE KEY-----', ...lines, '-----END OPENSSH PRIVATE KEY-----', ''].join(
    '\n',
  );
}

/** A fresh Ed25519 key pair. */
export function generateEd25519(comment = ''): SshKeyPair {
  const { privateKey } = generateKeyPairSync('ed25519');
  const { seed, pub } = rawKeys(privateKey);
  return {
    publicKey: `ssh-ed25519 ${publicBlob(pub).toString('base64')}`,
    privateKey: opensshPrivateKey(seed, pub, comment),
  };
}

/** The public half of an OpenSSH Ed25519 private key (used to check a stored key still matches). */
export function publicKeyOf(privateKeyText: string): string {
  const m = /-----BEGIN OPENSSH PRIVATE KEY-----([\s\S]*?)-----END OPENSSH PRIVATE KEY-----/.exec(
    privateKeyText,
  );
  if (!m?.[1]) throw new Error('not an OpenSSH private key');
  const body = Buffer.from(m[1].replace(/\s+/g, ''), 'base64');
  let off = 'openssh-key-v1\0'.length;
  const next = (): Buffer => {
    const len = body.readUInt32BE(off);
    const out = body.subarray(off + 4, off + 4 + len);
    off += 4 + len;
    return out;
  };
  next(); // cipher
  next(); // kdf
  next(); // kdf options
  off += 4; // number of keys
  const blob = next();
  return `ssh-ed25519 ${blob.toString('base64')}`;
}
