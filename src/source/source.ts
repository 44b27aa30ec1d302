// Turning a manifest's network into files on disk: files next to the manifest, or inline texts written to a
// content-addressed directory so that they can import each other by relative path.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, realpathSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { Reason } from '../api/conditions.js';
import { ReconixError } from '../core/errors.js';
import type { NixDeploymentManifest } from '../api/deployment.js';
import type { NetworkSource } from '../core/ports.js';
import { parseSize } from '../util/size.js';

const INLINE_NAME = /^[A-Za-z0-9_][A-Za-z0-9._+-]*\.nix$/;

function invalid(manifest: NixDeploymentManifest, message: string): ReconixError {
  return new ReconixError(Reason.InvalidManifest, `${manifest.metadata.name}: ${message}`, {
    reaction: 'stall',
  });
}

/** `file` resolved inside `dir`; absolute paths and escapes (.., symlinks) are refused. */
function inside(manifest: NixDeploymentManifest, dir: string, file: string): string {
  if (isAbsolute(file))
    throw invalid(manifest, `network file ${JSON.stringify(file)} must be a relative path`);
  const escapes = (p: string, root: string) => {
    const rel = relative(root, p);
    return rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel);
  };
  const full = resolve(dir, file);
  if (escapes(full, resolve(dir))) {
    throw invalid(manifest, `network file ${JSON.stringify(file)} is outside the manifest's directory`);
  }
  if (!existsSync(full))
    throw invalid(manifest, `network file ${JSON.stringify(file)} does not exist in ${dir}`);
  const real = realpathSync(full);
  if (escapes(real, realpathSync(dir))) {
    throw invalid(manifest, `network file ${JSON.stringify(file)} links outside the manifest's directory`);
  }
  return real;
}

/** Write the inline files once per content; returns their directory. */
function writeInline(
  manifest: NixDeploymentManifest,
  inline: Record<string, string>,
  scratchDir: string,
): string {
  const names = Object.keys(inline).sort();
  for (const name of names) {
    if (!INLINE_NAME.test(name)) {
      throw invalid(
        manifest,
        `inline network file name ${JSON.stringify(name)} must be a plain file name ending in .nix (no slashes)`,
      );
    }
  }
  const hash = createHash('sha256')
    .update(JSON.stringify(names.map((n) => [n, inline[n]])))
    .digest('hex')
    .slice(0, 32);
  const dir = join(resolve(scratchDir), `inline-${hash}`);
  if (existsSync(dir)) return dir;
  mkdirSync(scratchDir, { recursive: true });
  // Written under a temporary name and renamed, so a directory that exists is always complete.
  const tmp = mkdtempSync(join(scratchDir, '.inline-'));
  for (const name of names) writeFileSync(join(tmp, name), inline[name] ?? '', { mode: 0o644 });
  try {
    renameSync(tmp, dir);
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    if (!existsSync(dir)) throw err;
  }
  return dir;
}

/**
 * The network files of a manifest, as absolute paths in merge order.
 * - `files` are relative to `manifestDir` and must stay inside it.
 * - With `inline`, the texts are written under `scratchDir`; `files` then names which inline files are network
 *   files (the others are modules they import), and defaults to all of them in name order.
 */
export function resolveNetworkSource(
  manifest: NixDeploymentManifest,
  manifestDir: string,
  scratchDir: string,
): NetworkSource {
  const { network } = manifest.spec;
  const common = {
    deployment: manifest.metadata.name,
    args: { ...(network.args ?? {}) },
    builder: manifest.spec.builder ?? 'auto',
    ...(manifest.spec.evaluation?.memoryBudget === undefined
      ? {}
      : { memoryBudget: parseSize(manifest.spec.evaluation.memoryBudget) }),
  };
  if (network.inline && Object.keys(network.inline).length > 0) {
    const dir = writeInline(manifest, network.inline, scratchDir);
    const chosen = network.files ?? Object.keys(network.inline).sort();
    for (const f of chosen) {
      if (!(f in network.inline))
        throw invalid(manifest, `network file ${JSON.stringify(f)} is not among the inline files`);
    }
    return { ...common, root: dir, files: chosen.map((f) => join(dir, f)) };
  }
  const files = network.files ?? [];
  if (files.length === 0) throw invalid(manifest, 'spec.network needs files or inline network files');
  return {
    ...common,
    files: files.map((f) => inside(manifest, manifestDir, f)),
    root: realpathSync(manifestDir),
  };
}
