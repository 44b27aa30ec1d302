// Store paths that several hosts lack are exported once per reconcile and the same bytes streamed to each of them,
// instead of one `nix-store --export` per host. A fleet mostly shares its closures, so this is most of the work.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, promises as fs } from 'node:fs';
import path from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { CopyStats, Exporter, HostSession, LocalStore } from './ports.js';

export class SharedExports {
  private readonly files = new Map<string, Promise<string>>();
  private dir: Promise<string> | undefined;

  /**
   * @param store the local store
   * @param scratch where exports are kept for the length of one reconcile
   * @param closures the closures about to be copied: a path in two or more of them is shared
   */
  constructor(
    private readonly store: LocalStore,
    private readonly scratch: string,
    closures: Iterable<readonly string[]>,
  ) {
    for (const c of closures) for (const p of c) this.count.set(p, (this.count.get(p) ?? 0) + 1);
  }

  private readonly count = new Map<string, number>();

  /**
   * Copy `missing` (dependencies first) to a host: the shared paths from a shared export, then the rest.
   * Every dependency of a shared path is in the same closures, so it is shared too: the order holds.
   */
  async copy(session: HostSession, missing: readonly string[]): Promise<CopyStats> {
    const shared = missing.filter((p) => (this.count.get(p) ?? 0) > 1);
    const own = missing.filter((p) => (this.count.get(p) ?? 0) <= 1);
    const total: CopyStats = { paths: 0, bytes: 0 };
    for (const [paths, source] of [
      [shared, this.sharedSource()],
      [own, this.store],
    ] as const) {
      if (paths.length === 0) continue;
      const stats = await session.importPaths([...paths], source);
      total.paths += stats.paths;
      total.bytes += stats.bytes;
    }
    return total;
  }

  async dispose(): Promise<void> {
    const dir = this.dir;
    this.dir = undefined;
    this.files.clear();
    if (dir) await fs.rm(await dir, { recursive: true, force: true }).catch(() => undefined);
  }

  /** An exporter whose export of a list of paths is made once and then read from a file. */
  private sharedSource(): Exporter {
    return {
      exportPaths: (paths: string[]): Readable => {
        const out = new PassThrough();
        this.file(paths)
          .then((file) => pipeline(createReadStream(file), out))
          .catch((err: Error) => out.destroy(err));
        return out;
      },
    };
  }

  private file(paths: readonly string[]): Promise<string> {
    const key = paths.join('\n');
    let file = this.files.get(key);
    if (!file) {
      file = this.write(paths, key);
      this.files.set(key, file);
      // A failed export is not kept: the next host tries again.
      file.catch(() => this.files.delete(key));
    }
    return file;
  }

  private async write(paths: readonly string[], key: string): Promise<string> {
    this.dir ??= fs
      .mkdir(this.scratch, { recursive: true })
      .then(() => fs.mkdtemp(path.join(this.scratch, 'export-')));
    const file = path.join(await this.dir, createHash('sha256').update(key).digest('hex').slice(0, 32));
    await pipeline(this.store.exportPaths([...paths]), createWriteStream(file, { mode: 0o600 }));
    return file;
  }
}
