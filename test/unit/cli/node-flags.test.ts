// Wherever Reconix starts Node itself, it starts it with the flags of node-flags.ts: the installed binary (its
// first line) and the container's entry point.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { NODE_FLAGS } from '../../../src/cli/node-flags.js';
import { repoRoot } from '../../support/repo.js';

describe('the Node flags Reconix runs with', () => {
  const root = repoRoot();

  it('are on the first line of the binary, for env -S', () => {
    for (const file of ['src/cli/bin.ts', 'dist/src/cli/bin.js']) {
      const first = readFileSync(join(root, file), 'utf8').split('\n')[0];
      assert.equal(first, `#!/usr/bin/env -S node ${NODE_FLAGS.join(' ')}`, file);
    }
  });

  it("are in the container's entry point, before the binary", () => {
    const text = readFileSync(join(root, 'Dockerfile'), 'utf8');
    const entry = /^ENTRYPOINT (\[.*\])$/m.exec(text)?.[1];
    assert.ok(entry, 'an ENTRYPOINT in exec form');
    assert.deepEqual(JSON.parse(entry), ['node', ...NODE_FLAGS, '/app/dist/src/cli/bin.js']);
  });
});
