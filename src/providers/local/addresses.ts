// Loopback addresses for local hosts, claimed without locks: one marker file per address, created exclusively.
import { mkdir, readdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { checkAddressPrefix, SSH_PORT } from './layout.js';

export interface AddressAllocator {
  /** Claim a free address for `owner` (a host directory). */
  claim(owner: string): Promise<string>;
  /** Whether `address` is claimed by `owner`. */
  holds(address: string, owner: string): Promise<boolean>;
  /** Give `address` back, if `owner` holds it. */
  release(address: string, owner: string): Promise<void>;
}

const isCode = (err: unknown, code: string): boolean => (err as NodeJS.ErrnoException | null)?.code === code;

/**
 * Addresses `<prefix>.x.y` with markers in `dir`: creating a marker with O_EXCL is the claim, so two processes
 * never get the same address. An address something else already listens on (a host of another base directory)
 * is skipped.
 */
export class MarkerFileAllocator implements AddressAllocator {
  private readonly dir: string;
  private readonly prefix: string;
  private readonly port: number;
  /**
   * Addresses this allocator tried or holds: claims running at once (a fleet's hosts made together) skip each
   * other's instead of all racing for the first free one, which made making N hosts cost N^2 marker attempts.
   */
  private readonly tried = new Set<string>();

  constructor(dir: string, prefix = '127.77', port = SSH_PORT) {
    this.dir = dir;
    this.prefix = checkAddressPrefix(prefix);
    this.port = port;
  }

  async claim(owner: string): Promise<string> {
    await mkdir(this.dir, { recursive: true });
    const taken = new Set(await readdir(this.dir));
    for (const address of this.candidates()) {
      if (taken.has(address) || this.tried.has(address)) continue;
      this.tried.add(address);
      try {
        await writeFile(join(this.dir, address), owner, { flag: 'wx' });
      } catch (err) {
        if (isCode(err, 'EEXIST')) continue;
        this.tried.delete(address);
        throw err;
      }
      if (await canListen(address, this.port)) return address;
      await this.release(address, owner);
      this.tried.add(address); // something else listens there
    }
    throw new Error(`no free local host address left in ${this.prefix}.0.0/16 (markers in ${this.dir})`);
  }

  async holds(address: string, owner: string): Promise<boolean> {
    if (!this.isOurs(address)) return false;
    try {
      return (await readFile(join(this.dir, address), 'utf8')) === owner;
    } catch (err) {
      if (isCode(err, 'ENOENT')) return false;
      throw err;
    }
  }

  async release(address: string, owner: string): Promise<void> {
    if (!(await this.holds(address, owner))) return;
    await unlink(join(this.dir, address)).catch((err: unknown) => {
      if (!isCode(err, 'ENOENT')) throw err;
    });
    this.tried.delete(address);
  }

  private isOurs(address: string): boolean {
    const m = /^(\d+\.\d+)\.(\d+)\.(\d+)$/.exec(address);
    return m?.[1] === this.prefix && Number(m[2]) <= 255 && Number(m[3]) >= 1 && Number(m[3]) <= 254;
  }

  private *candidates(): Generator<string> {
    for (let x = 0; x <= 255; x++) for (let y = 1; y <= 254; y++) yield `${this.prefix}.${x}.${y}`;
  }
}

/** Whether nothing listens on `address:port` yet (binding there briefly is the only reliable test). */
function canListen(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    // Only "in use" says no: any other failure (no permission) is left for sshd to report.
    server.once('error', (err) => resolve(!isCode(err, 'EADDRINUSE')));
    server.listen({ host: address, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}
