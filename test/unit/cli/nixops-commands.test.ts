// The pure parts of the NixOps commands: editing a manifest's arguments, checking an export, what delete counts.
import assert from 'node:assert/strict';
import { editArgs } from '../../../src/cli/commands/args.js';
import { leftOver } from '../../../src/cli/commands/delete.js';
import { parseExport } from '../../../src/cli/commands/export.js';
import { optionPath } from '../../../src/cli/commands/show-option.js';
import { emptyState } from '../../../src/core/model.js';

const FLEET = `# the fleet
apiVersion: reconix.dev/v1alpha1
kind: NixDeployment
metadata: { name: web }
spec:
  network:
    files: [network.nix] # merged in order
    args: { domain: example.org }
---
kind: NixDeployment
metadata: { name: db }
spec:
  network:
    files: [db.nix]
`;

describe('the NixOps commands', () => {
  it('set-args changes only the named deployment of a file, keeping comments and the other document', () => {
    const out = editArgs(FLEET, 'fleet.yaml', 'db', { replicas: '3' }, []);
    assert.match(out, /^# the fleet\n/);
    assert.match(out, /files: \[ network\.nix \] # merged in order/);
    assert.match(out, /args: \{ domain: example\.org \}/);
    assert.match(
      out,
      /---\nkind: NixDeployment\nmetadata: \{ name: db \}\nspec:\n {2}network:\n {4}files: \[ db\.nix \]\n {4}args:\n {6}replicas: "3"\n$/,
    );
  });

  it('set-args writes flow collections as the file mostly does', () => {
    const tight = FLEET.replaceAll('{ name: web }', '{name: web}').replaceAll('{ name: db }', '{name: db}');
    const out = editArgs(tight, 'fleet.yaml', 'web', { x: 'y' }, []);
    assert.match(out, /files: \[network\.nix\] # merged in order/);
    assert.match(out, /metadata: \{name: db\}/);
  });

  it('set-args --unset removes an argument, and args altogether once none is left', () => {
    const out = editArgs(FLEET, 'fleet.yaml', 'web', {}, ['domain']);
    assert.doesNotMatch(out, /args|domain/);
    assert.throws(
      () => editArgs(FLEET, 'fleet.yaml', 'cache', {}, ['x']),
      /fleet\.yaml: no NixDeployment named cache/,
    );
  });

  it('import refuses what is not an export, naming the deployment at fault', () => {
    assert.throws(() => parseExport('[1]'), /not an export/);
    assert.throws(() => parseExport('{'), /stdin is not JSON/);
    assert.throws(() => parseExport('{"a":{"version":2}}'), /deployment a: not a state of version 1/);
    assert.throws(
      () => parseExport(JSON.stringify({ a: emptyState('b') })),
      /deployment a: its state is named b/,
    );
    assert.throws(() => parseExport(JSON.stringify({ 'A B': emptyState('A B') })), /invalid deployment name/);
    assert.deepEqual(parseExport(JSON.stringify({ a: emptyState('a') })), { a: emptyState('a') });
  });

  it('delete counts hosts Reconix created and cloud resources, not machines it only reaches', () => {
    const st = emptyState('web');
    st.machines.existing = { targetEnv: 'none' };
    assert.deepEqual(leftOver(st), []);
    st.machines.made = { targetEnv: 'local', target: { dir: '/h' } as never };
    st.resources['s3.logs'] = { type: 's3Buckets', name: 'logs' } as never;
    assert.deepEqual(leftOver(st), ['host made (local)', 'resource s3Buckets.logs']);
  });

  it('show-option takes dotted option names and never shows deployment.keys', () => {
    assert.deepEqual(optionPath('networking.hostName'), ['networking', 'hostName']);
    assert.throws(() => optionPath('networking..x'), /invalid option "networking\.\.x"/);
    assert.throws(() => optionPath('deployment.keys.htpasswd.text'), /holds secrets/);
    assert.throws(() => optionPath('deployment'), /holds secrets/);
  });
});
