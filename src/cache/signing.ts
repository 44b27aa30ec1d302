// Binary-cache signing keys as Nix writes them (`nix-store --generate-binary-cache-key`): the secret key is
// `name:base64(seed + public key)`, the public one `name:base64(public key)`, a signature
// `name:base64(ed25519 signature of the fingerprint)`.
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign,
  verify,
  type KeyObject,
} from 'node:crypto';

/** DER of an Ed25519 PKCS#8 private key, before its 32-byte seed. */
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
/** DER of an Ed25519 SubjectPublicKeyInfo, before its 32-byte key. */
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export interface SigningKey {
  name: string;
  /** `name:base64(64 bytes)`: a secret, kept as the deployment's other private keys are. */
  secret: string;
  /** `name:base64(32 bytes)`: what hosts trust. */
  publicKey: string;
  readonly key: KeyObject;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export function generateSigningKey(name: string): SigningKey {
  checkName(name);
  const { privateKey } = generateKeyPairSync('ed25519');
  const der = privateKey.export({ format: 'der', type: 'pkcs8' });
  const seed = der.subarray(PKCS8_PREFIX.length);
  const pub = rawPublic(privateKey);
  return parseSigningKey(`${name}:${Buffer.concat([seed, pub]).toString('base64')}`);
}

/** A secret key in Nix's notation; the message never repeats the key. */
export function parseSigningKey(text: string): SigningKey {
  const trimmed = text.trim();
  const colon = trimmed.indexOf(':');
  const name = colon > 0 ? trimmed.slice(0, colon) : '';
  const bytes = Buffer.from(trimmed.slice(colon + 1), 'base64');
  if (!NAME.test(name) || bytes.length !== 64) {
    throw new Error('not a binary-cache secret key: expected "name:base64(64 bytes)"');
  }
  const key = createPrivateKey({
    key: Buffer.concat([PKCS8_PREFIX, bytes.subarray(0, 32)]),
    format: 'der',
    type: 'pkcs8',
  });
  const pub = rawPublic(key);
  if (!pub.equals(bytes.subarray(32))) {
    throw new Error('not a binary-cache secret key: its public half does not match its seed');
  }
  return { name, secret: trimmed, publicKey: `${name}:${pub.toString('base64')}`, key };
}

/** `name:base64(signature)` of a fingerprint. */
export function signFingerprint(key: SigningKey, fingerprint: string): string {
  return `${key.name}:${sign(null, Buffer.from(fingerprint), key.key).toString('base64')}`;
}

/** Whether `sig` is a signature of `fingerprint` by the public key `publicKey` (both in Nix's notation). */
export function verifyFingerprint(publicKey: string, fingerprint: string, sig: string): boolean {
  const [name, pub] = splitNamed(publicKey);
  const [sigName, raw] = splitNamed(sig);
  if (name !== sigName || pub.length !== 32 || raw.length !== 64) return false;
  const key = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, pub]), format: 'der', type: 'spki' });
  return verify(null, Buffer.from(fingerprint), key, raw);
}

/** Whether a public key is in Nix's notation, `name:base64(32 bytes)`. */
export function isPublicKey(text: string): boolean {
  const [name, pub] = splitNamed(text);
  return NAME.test(name) && pub.length === 32 && text === `${name}:${pub.toString('base64')}`;
}

function splitNamed(text: string): [string, Buffer] {
  const colon = text.indexOf(':');
  if (colon <= 0) return ['', Buffer.alloc(0)];
  return [text.slice(0, colon), Buffer.from(text.slice(colon + 1), 'base64')];
}

function rawPublic(key: KeyObject): Buffer {
  return createPublicKey(key).export({ format: 'der', type: 'spki' }).subarray(SPKI_PREFIX.length);
}

function checkName(name: string): void {
  if (!NAME.test(name)) {
    throw new Error(
      `a binary-cache key name is letters, digits, ".", "_" and "-", not ${JSON.stringify(name)}`,
    );
  }
}
