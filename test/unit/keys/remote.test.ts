// The remote commands of keys: quoted words only, content never on the command line; names and modes checked.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deliverScript, parseProbe, probeScript } from '../../../src/keys/remote.js';
import { keyProblem, type DesiredKey } from '../../../src/keys/spec.js';

const key = (over: Partial<DesiredKey> = {}): DesiredKey => ({
  destDir: '/run/keys',
  user: 'root',
  group: 'root',
  permissions: '0600',
  uploadAt: 'pre-activation',
  ...over,
});

describe('key commands', () => {
  it('writes stdin to the key through a temporary file in a new 0750 directory, running nothing from the spec', () => {
    // GIVEN a destination whose name is shell syntax, in a temporary directory (run as the current user)
    const base = mkdtempSync(join(tmpdir(), 'reconix-key-'));
    const dir = join(base, "$(touch pwned); 'x'");
    try {
      const me = execFileSync('id', ['-un']).toString().trim();
      const grp = execFileSync('id', ['-gn']).toString().trim();
      const script = deliverScript('k', key({ destDir: dir, user: me, group: grp, permissions: '0640' }));
      const out = execFileSync('sh', ['-c', script], { input: 'secret\n', cwd: base }).toString();
      assert.equal(readFileSync(join(dir, 'k'), 'utf8'), 'secret\n');
      assert.equal((statSync(join(dir, 'k')).mode & 0o777).toString(8), '640');
      assert.equal((statSync(dir).mode & 0o777).toString(8), '750');
      assert.match(out, /^fs\t\S+$/m);
      assert.throws(() => statSync(join(base, 'pwned')));
      assert.ok(!script.includes('secret'));
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  });

  it('probes keys on the host: owner, mode and digest of a file, nothing for a missing one', () => {
    const base = mkdtempSync(join(tmpdir(), 'reconix-probe-'));
    try {
      execFileSync('sh', ['-c', `printf abc > '${base}/a'; chmod 600 '${base}/a'`]);
      const paths = [`${base}/a`, `${base}/missing b`];
      const obs = parseProbe(execFileSync('sh', ['-c', probeScript(paths)]).toString(), paths);
      assert.equal(
        obs[`${base}/a`]?.sha256,
        'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
      );
      assert.equal(obs[`${base}/a`]?.mode, '600');
      assert.deepEqual(obs[`${base}/missing b`], { exists: false });
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  });

  for (const [name, over, problem] of [
    ['../x', {}, /its name/],
    ['.hidden', {}, /its name/],
    ['done', {}, /marker/],
    ['k', { destDir: 'relative' }, /absolute path/],
    ['k', { destDir: '/run/../etc' }, /absolute path/],
    ['k', { user: 'a b' }, /user/],
    ['k', { group: '$(x)' }, /group/],
    ['k', { permissions: '777; rm' }, /octal mode/],
  ] as const) {
    it(`refuses key ${JSON.stringify(name)} with ${JSON.stringify(over)}`, () => {
      assert.match(keyProblem(name, key(over)) ?? '', problem);
    });
  }

  it('accepts NixOps-style keys', () => {
    assert.equal(
      keyProblem('db-password', key({ user: 'postgres', group: 'keys', permissions: '0440' })),
      undefined,
    );
    assert.equal(keyProblem('done', key({ destDir: '/var/lib/app' })), undefined);
  });
});
