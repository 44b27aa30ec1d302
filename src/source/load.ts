// Loading NixDeployment manifests from a file or a directory into deployments the reconciler can run.
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { findManifestFiles, noManifestMessage } from './discover.js';
import { loadManifests, type ManifestResult } from './manifest.js';
import { resolveNetworkSource } from './source.js';
import { runProcess } from '../util/exec.js';
import type { LoadResult } from './deployments.js';

/** Every `.nix` file below `dir` (a network's imports usually live next to it), bounded. */
async function nixFilesUnder(dir: string, limit = 2000): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string, depth: number): Promise<void> => {
    if (depth > 6 || out.length >= limit) return;
    let entries;
    try {
      entries = await fs.readdir(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      if (e.name.startsWith('.') || e.name === 'node_modules') continue;
      const p = path.join(d, e.name);
      if (e.isDirectory()) await walk(p, depth + 1);
      else if (e.name.endsWith('.nix')) out.push(p);
    }
  };
  await walk(dir, 0);
  return out;
}

async function hashInputs(manifestJson: string, files: readonly string[]): Promise<string> {
  const h = createHash('sha256').update(manifestJson);
  for (const f of [...new Set(files)].sort()) {
    h.update('\0' + f + '\0');
    h.update(await fs.readFile(f).catch(() => Buffer.from('<missing>')));
  }
  return h.digest('hex');
}

/** The manifests of a file, or of the manifest files found below a directory. */
async function manifestsOf(fileOrDir: string, result: LoadResult): Promise<ManifestResult[]> {
  if (!(await fs.stat(fileOrDir)).isDirectory()) return loadManifests(fileOrDir);
  const found = await findManifestFiles(fileOrDir);
  const loaded = (await Promise.all(found.files.map((f) => loadManifests(f)))).flat();
  if (loaded.length === 0) result.empty = noManifestMessage(fileOrDir, found);
  return loaded;
}

/**
 * Load every NixDeployment in `fileOrDir` (a file, or the manifests below a directory). A broken manifest is an
 * error of its own; the rest still load.
 */
export async function loadDeployments(fileOrDir: string, scratchDir: string): Promise<LoadResult> {
  const result: LoadResult = { deployments: [], errors: [] };
  let loaded;
  try {
    loaded = await manifestsOf(fileOrDir, result);
  } catch (err) {
    result.errors.push({ path: fileOrDir, message: (err as Error).message });
    return result;
  }
  const names = new Set<string>();
  for (const m of loaded) {
    if (!m.ok) {
      result.errors.push({ path: m.path, message: m.error.message });
      continue;
    }
    const name = m.manifest.metadata.name;
    const manifestDir = path.dirname(m.path);
    try {
      if (names.has(name)) throw new Error(`deployment ${name} is defined twice`);
      names.add(name);
      const source = resolveNetworkSource(m.manifest, manifestDir, scratchDir);
      const inputs = [...source.files, ...(await nixFilesUnder(manifestDir))];
      result.deployments.push({
        name,
        manifestPath: m.path,
        spec: m.manifest.spec,
        source,
        inputHash: await hashInputs(JSON.stringify(m.manifest), inputs),
      });
    } catch (err) {
      result.errors.push({ path: m.path, name, message: (err as Error).message });
    }
  }
  return result;
}

/** The commit a tree is checked out at, when it is a git checkout (git-sync worktrees included). */
export async function gitRevision(root: string): Promise<string | undefined> {
  try {
    const r = await runProcess('git', ['-C', root, 'rev-parse', 'HEAD'], { timeoutMs: 10_000 });
    return r.exitCode === 0 ? r.stdout.trim() || undefined : undefined;
  } catch {
    return undefined;
  }
}
