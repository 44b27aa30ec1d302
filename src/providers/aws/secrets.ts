// Secrets only Reconix reads: private keys of key pairs and of instances' host keys. One file each, mode 0600, in
// a directory of mode 0700 under the state directory. They never enter the state document, logs or status.
import { createHash } from 'node:crypto';
import { chmod, mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';

export interface SecretStore {
  /** The file a secret lives in (a path is not a secret; its content is). */
  path(deployment: string, key: string): string;
  read(deployment: string, key: string): Promise<string | undefined>;
  /** Written to a temporary name and renamed, so a crash leaves the old secret or the new one. */
  write(deployment: string, key: string, value: string): Promise<void>;
  remove(deployment: string, key: string): Promise<void>;
}

/** A file name for any key: readable where it can be, a hash keeps distinct keys distinct. */
export function secretFileName(key: string): string {
  const readable = key.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 80);
  const hash = createHash('sha256').update(key).digest('hex').slice(0, 12);
  return `${readable}-${hash}`;
}

export class FileSecretStore implements SecretStore {
  constructor(private readonly dir: string) {}

  path(deployment: string, key: string): string {
    return join(this.dir, secretFileName(deployment), secretFileName(key));
  }

  async read(deployment: string, key: string): Promise<string | undefined> {
    try {
      return await readFile(this.path(deployment, key), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async write(deployment: string, key: string, value: string): Promise<void> {
    const file = this.path(deployment, key);
    const dir = join(this.dir, secretFileName(deployment));
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await chmod(this.dir, 0o700);
    await chmod(dir, 0o700);
    const tmp = `${file}.tmp-${process.pid}`;
    const handle = await open(tmp, 'w', 0o600);
    try {
      await handle.writeFile(value);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, file);
    // One writer per deployment (the state lock): any other temporary copy was left by a killed process.
    await this.removeTemporaries(dir, key);
  }

  async remove(deployment: string, key: string): Promise<void> {
    await rm(this.path(deployment, key), { force: true });
    // A process killed between writing and renaming leaves its temporary copy: it goes with the secret.
    await this.removeTemporaries(join(this.dir, secretFileName(deployment)), key);
  }

  private async removeTemporaries(dir: string, key: string): Promise<void> {
    const prefix = `${secretFileName(key)}.tmp-`;
    const names = await readdir(dir).catch(() => [] as string[]);
    await Promise.all(
      names.filter((n) => n.startsWith(prefix)).map((n) => rm(join(dir, n), { force: true })),
    );
  }
}
