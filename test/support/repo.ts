// The repository's root, from a test's compiled file (dist/test/...) or its source (test/...).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The first directory above this file with the package.json and Dockerfile of the repository. */
export function repoRoot(): string {
  for (let d = dirname(fileURLToPath(import.meta.url)); ; d = dirname(d)) {
    if (existsSync(join(d, 'Dockerfile')) && existsSync(join(d, 'package.json'))) return d;
    if (dirname(d) === d) throw new Error('repository root not found');
  }
}
