// Where a secret must never show up: files under directories, searched by content with grep -rlF (bounded to what
// a test made, so the search stays small on a shared machine).
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runProcess } from '../../src/util/exec.js';

/** A random value that cannot occur anywhere by chance. */
export function canary(label: string): string {
  return `canary-${label}-${randomBytes(12).toString('hex')}`;
}

/** The files under `dirs` that contain `needle` (grep exits 1 when there are none). */
export async function filesContaining(needle: string, dirs: readonly string[]): Promise<string[]> {
  if (dirs.length === 0) return [];
  const r = await runProcess('grep', ['-rlF', '--', needle, ...dirs]);
  if (r.exitCode !== 0 && r.exitCode !== 1) throw new Error(`grep failed: ${r.stderr}`);
  return r.stdout.split('\n').filter(Boolean);
}

/** A marker file: store paths newer than it were made after it. */
export async function timeMarker(): Promise<string> {
  const file = join(tmpdir(), `reconix-store-marker-${process.pid}-${Date.now()}`);
  await writeFile(file, '');
  return file;
}

/** Entries of the local /nix/store made after `marker` (by ctime: Nix sets every mtime to 1). */
export async function storePathsSince(marker: string): Promise<string[]> {
  const r = await runProcess('find', ['/nix/store', '-mindepth', '1', '-maxdepth', '1', '-cnewer', marker]);
  return r.stdout.split('\n').filter((p) => p && !p.endsWith('.lock'));
}
