// Where the manifests of a directory are: every *.yaml / *.yml file below it, a few folders deep (the usual GitOps
// layout has a folder per deployment), leaving out what git ignores when the directory is in a git work tree.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { runProcess } from '../util/exec.js';

/** How deep below the directory manifests are looked for (the directory itself is depth 0). */
export const MANIFEST_DEPTH = 4;

export interface ManifestFiles {
  /** The manifest candidates, in path order. */
  files: string[];
  /** How many files were looked at, to say how hard the search was when it found nothing. */
  searched: number;
  depth: number;
}

/** The *.yaml / *.yml files under `dir` to depth `depth`; dot-folders and node_modules are never entered. */
export async function findManifestFiles(dir: string, depth = MANIFEST_DEPTH): Promise<ManifestFiles> {
  const files: string[] = [];
  let searched = 0;
  const walk = async (d: string, level: number): Promise<void> => {
    const entries = await fs.readdir(d, { withFileTypes: true }).catch(() => []);
    for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) {
        if (level < depth && !e.name.startsWith('.') && e.name !== 'node_modules') await walk(p, level + 1);
      } else if (e.isFile() || e.isSymbolicLink()) {
        searched++;
        if (/\.ya?ml$/.test(e.name)) files.push(p);
      }
    }
  };
  await walk(dir, 0);
  const ignored = await gitIgnored(dir, files);
  return { files: files.filter((f) => !ignored.has(f)), searched, depth };
}

/** The paths of `files` git ignores, when `dir` is inside a git work tree; none otherwise. */
async function gitIgnored(dir: string, files: readonly string[]): Promise<Set<string>> {
  if (files.length === 0) return new Set();
  try {
    const inside = await runProcess('git', ['-C', dir, 'rev-parse', '--is-inside-work-tree'], {
      timeoutMs: 10_000,
    });
    if (inside.exitCode !== 0 || inside.stdout.trim() !== 'true') return new Set();
    // Exit code 1 means none is ignored; the ignored paths come back as they were given.
    const r = await runProcess('git', ['-C', dir, 'check-ignore', '--stdin'], {
      timeoutMs: 30_000,
      input: files.join('\n') + '\n',
    });
    if (r.exitCode !== 0 && r.exitCode !== 1) return new Set();
    return new Set(r.stdout.split('\n').filter(Boolean));
  } catch {
    return new Set();
  }
}

/** What to say when a directory holds no manifest. */
export function noManifestMessage(dir: string, found: ManifestFiles): string {
  return `no NixDeployment manifests found under ${dir} (searched ${found.searched} files to depth ${found.depth})`;
}
