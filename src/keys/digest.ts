// Digests of key contents: SHA-256 to compare with what the host computes, and an HMAC for the state, so that a
// digest kept on disk reveals nothing about a short or guessable key.
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';

export function sha256(content: Buffer): string {
  return createHash('sha256').update(content).digest('hex');
}

export function keyHmac(secret: Buffer, content: Buffer): string {
  return createHmac('sha256', secret).update(content).digest('hex');
}

/** Where a deployment's HMAC secret lives: beside the state, in the state dir's secrets/ (mode 0600). */
export function hmacSecretFile(stateDir: string, deployment: string): string {
  return path.join(stateDir, 'secrets', `${encodeURIComponent(deployment)}.keys-hmac`);
}

/** The deployment's HMAC secret, made on first use (32 random bytes, mode 0600). */
export async function hmacSecret(stateDir: string, deployment: string): Promise<Buffer> {
  const file = hmacSecretFile(stateDir, deployment);
  try {
    return await fs.readFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  // A name of its own per attempt: machines of one deployment ask for the secret at once, in one process too.
  const tmp = `${file}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
  await fs.writeFile(tmp, randomBytes(32), { mode: 0o600 });
  // Two writers racing: the first link wins and both read it.
  await fs.link(tmp, file).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'EEXIST') throw err;
  });
  await fs.rm(tmp, { force: true });
  return fs.readFile(file);
}
