// `reconix --restrict-eval` as a user runs it: after an edit, only the machines that read the edited file are
// evaluated again, and their store paths alone change. Nothing is deployed: `dump-nix-paths` evaluates only.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { reconix } from '../../support/cli.js';

const FILES: Record<string, string> = {
  'reconix.yaml': [
    'apiVersion: reconix.dev/v1alpha1',
    'kind: NixDeployment',
    'metadata: { name: shop }',
    'spec:',
    '  network: { files: [network.nix] }',
    '  builder: mini',
    '',
  ].join('\n'),
  'network.nix': [
    '{',
    '  defaults.deployment.targetEnv = "none";',
    '  defaults.system.stateVersion = "24.05";',
    '  web1 = import ./machines/web1.nix;',
    '  web2 = import ./machines/web2.nix;',
    '  db = import ./machines/db.nix;',
    '}',
    '',
  ].join('\n'),
  'machines/web1.nix':
    '{ deployment.targetHost = "web1.test"; imports = [ ../common/web.nix ]; environment.etc.role.text = "v1"; }\n',
  'machines/web2.nix': '{ deployment.targetHost = "web2.test"; imports = [ ../common/web.nix ]; }\n',
  'machines/db.nix': '{ deployment.targetHost = "db.test"; environment.etc.role.text = "v1"; }\n',
  'common/web.nix': '{ environment.etc.web.text = "v1"; }\n',
};

describe('reconix --restrict-eval after an edit (real Nix, the CLI)', function () {
  this.timeout(120_000);
  let dir: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'reconix-restricted-'));
    for (const [file, text] of Object.entries(FILES)) {
      await mkdir(dirname(join(dir, 'net', file)), { recursive: true });
      await writeFile(join(dir, 'net', file), text);
    }
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** Each machine's system path, and what the log said of the machines evaluated again. */
  const dump = async () => {
    const r = await reconix([
      '-f',
      join(dir, 'net', 'reconix.yaml'),
      '--state-dir',
      join(dir, 'state'),
      '--restrict-eval',
      '-v',
      '--log-format',
      'json',
      'dump-nix-paths',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const paths: Record<string, string> = {};
    for (const line of r.stdout.trim().split('\n'))
      paths[/-nixos-system-([a-z0-9]+)-/.exec(line)![1]!] = line;
    const said = r.stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { msg?: string; evaluated?: number })
      .find((l) => l.evaluated !== undefined);
    return { paths, evaluated: said?.evaluated };
  };
  const edit = (file: string, from: string, to: string) =>
    writeFile(join(dir, 'net', file), FILES[file]!.replace(from, to));

  it('evaluates the edited machine alone, then the two that share an edited module, then none', async () => {
    const first = await dump();
    assert.deepEqual(Object.keys(first.paths).sort(), ['db', 'web1', 'web2']);

    await edit('machines/web1.nix', 'v1', 'v2');
    const one = await dump();
    assert.equal(one.evaluated, 1);
    assert.notEqual(one.paths.web1, first.paths.web1);
    assert.equal(one.paths.web2, first.paths.web2);
    assert.equal(one.paths.db, first.paths.db);

    await edit('common/web.nix', 'v1', 'v2');
    const shared = await dump();
    assert.equal(shared.evaluated, 2);
    assert.notEqual(shared.paths.web2, first.paths.web2);
    assert.equal(shared.paths.db, first.paths.db);

    await writeFile(join(dir, 'net', 'NOTES'), 'read by no evaluation\n');
    const none = await dump();
    // Nothing was evaluated, so the log says nothing of it.
    assert.equal(none.evaluated, undefined);
    assert.deepEqual(none.paths, shared.paths);
  });
});
