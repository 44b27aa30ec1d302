// Shared fixtures of the spec integration tests: scratch directories and small network files.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { NetworkSource } from '../../../src/core/ports.js';
import { NIX_DIR } from '../../../src/evaluate/evaluator.js';

export const EXAMPLES_DIR = resolve(NIX_DIR, '..', 'examples');

export function exampleSource(
  example: string,
  physical: string,
  args: Record<string, string> = {},
): NetworkSource {
  const dir = join(EXAMPLES_DIR, example);
  return {
    deployment: example,
    files: [join(dir, 'network.nix'), join(dir, physical)],
    args,
    builder: 'mini',
  };
}

export interface Scratch {
  dir: string;
  /** Write a network file and return its path. */
  file(name: string, text: string): Promise<string>;
  source(files: string[], args?: Record<string, string>): NetworkSource;
  remove(): Promise<void>;
}

export async function scratch(prefix: string): Promise<Scratch> {
  const dir = await mkdtemp(join(tmpdir(), `reconix-${prefix}-`));
  return {
    dir,
    async file(name, text) {
      const path = join(dir, name);
      await writeFile(path, text);
      return path;
    },
    source: (files, args = {}) => ({ deployment: 'test', files, args, builder: 'mini' }),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
