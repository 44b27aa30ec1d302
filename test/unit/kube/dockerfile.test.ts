import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { runProcess } from '../../../src/util/exec.js';
import { repoRoot } from '../../support/repo.js';

/** hadolint as scripts/setup.sh installs it, or from PATH. */
function hadolint(): string | undefined {
  const tools = process.env.RECONIX_TOOLS ?? join(homedir(), '.cache/reconix/tools');
  const local = join(tools, 'hadolint/bin/hadolint');
  if (existsSync(local)) return local;
  const onPath = (process.env.PATH ?? '').split(':').map((d) => join(d, 'hadolint'));
  return onPath.find((p) => existsSync(p));
}

describe('the Dockerfile', () => {
  const text = readFileSync(join(repoRoot(), 'Dockerfile'), 'utf8');

  it('is multi-stage, on base images pinned to an exact tag, and runs as a non-root user', () => {
    const froms = [...text.matchAll(/^FROM (\S+)/gm)].map((m) => m[1]!);
    assert.ok(froms.length >= 2, 'multi-stage');
    for (const image of froms)
      assert.match(image, /^[a-z0-9./-]+:\d+\.\d+\.\d+-[a-z-]+$|@sha256:[0-9a-f]{64}$/);
    assert.match(text, /^USER 10001:10001$/m);
    assert.match(text, /nix-bin/);
  });

  it('passes hadolint', async function () {
    const bin = hadolint();
    if (!bin) this.skip();
    const r = await runProcess(bin, [
      '--config',
      join(repoRoot(), '.hadolint.yaml'),
      join(repoRoot(), 'Dockerfile'),
    ]);
    assert.equal(r.exitCode, 0, r.stdout + r.stderr);
  });
});
