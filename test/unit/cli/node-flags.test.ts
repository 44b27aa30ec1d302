// Wherever Reconix starts Node itself, it starts it with the flags of node-flags.ts: the installed binary (its
// first line) and the container's entry point.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { NODE_ENV, NODE_FLAGS, nodeEnvWords } from '../../../src/cli/node-flags.js';
import { run } from '../../../src/util/exec.js';
import { repoRoot } from '../../support/repo.js';

describe('the Node flags and environment Reconix runs with', () => {
  const root = repoRoot();

  it('are on the first line of the binary, for env -S', () => {
    for (const file of ['src/cli/bin.ts', 'dist/src/cli/bin.js']) {
      const first = readFileSync(join(root, file), 'utf8').split('\n')[0];
      assert.equal(first, `#!/usr/bin/env -S ${[...nodeEnvWords(), 'node', ...NODE_FLAGS].join(' ')}`, file);
    }
  });

  it("are in the container's entry point, before the binary", () => {
    const text = readFileSync(join(root, 'Dockerfile'), 'utf8');
    const entry = /^ENTRYPOINT (\[.*\])$/m.exec(text)?.[1];
    assert.ok(entry, 'an ENTRYPOINT in exec form');
    assert.deepEqual(JSON.parse(entry), ['node', ...NODE_FLAGS, '/app/dist/src/cli/bin.js']);
    const env = /^ENV (.*)$/m.exec(text)?.[1]?.split(' ') ?? [];
    for (const word of nodeEnvWords()) assert.ok(env.includes(word), `ENV ${word} in the Dockerfile`);
  });

  it('reach Node through the first line of the binary', async () => {
    // What the kernel runs for `reconix`: env with the first line's words, then the script. Here Node prints its
    // environment instead of running the script.
    const first = readFileSync(join(root, 'dist/src/cli/bin.js'), 'utf8').split('\n')[0]!;
    const words = first.replace(/^#!\/usr\/bin\/env -S /, '');
    // An environment without these variables, so that only the first line can set them.
    const r = await run('/usr/bin/env', ['-S', `${words} -p JSON.stringify(process.env)`], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    });
    const env = JSON.parse(r.stdout) as Record<string, string>;
    for (const [k, v] of Object.entries(NODE_ENV)) assert.equal(env[k], v, k);
  });
});
