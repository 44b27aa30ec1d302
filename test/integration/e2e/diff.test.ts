// plan --diff and deploy --diff on a real local host: what changes between the system it runs and the new one.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DeployOutput, PlanOutput } from '../../../src/api/output.js';
import { runProcess, type ExecResult } from '../../../src/util/exec.js';
import { REPO_ROOT } from '../../support/workspace.js';

const MANIFEST = `apiVersion: reconix.dev/v1alpha1
kind: NixDeployment
metadata: { name: diff-local }
spec:
  builder: mini
  network: { files: [network.nix] }
`;

/** A network whose machine has packages made without nixpkgs: a name, a version, and KiB of data. */
function network(packages: [string, string, number][], etc: Record<string, string>): string {
  const pkgs = packages.map(([n, v, kib]) => `(pkg "${n}" "${v}" ${kib})`).join(' ');
  const files = Object.entries(etc)
    .map(([f, text]) => `environment.etc.${JSON.stringify(f)}.text = ${JSON.stringify(text)};`)
    .join('\n      ');
  return `
let
  pkg = name: version: kib: derivation {
    name = "\${name}-\${version}";
    system = builtins.currentSystem;
    builder = "/bin/sh";
    args = [ "-c" "/bin/mkdir -p $out/bin && /usr/bin/head -c \${toString (kib * 1024)} /dev/zero > $out/bin/data && echo \${version} > $out/bin/version" ];
  };
in {
  machine = { ... }: {
    deployment.targetEnv = "local";
    environment.systemPackages = [ ${pkgs} ];
    ${files}
  };
}
`;
}

describe('closure diffs of a local host', function () {
  this.timeout(300_000);
  let dir: string;
  const cli = (...args: string[]): Promise<ExecResult> =>
    runProcess(
      process.execPath,
      [join(REPO_ROOT, 'dist/src/cli/bin.js'), '-f', join(dir, 'reconix.yaml'), ...args],
      {
        env: { ...process.env, RECONIX_STATE_DIR: join(dir, '.state') },
      },
    );
  const plan = async (): Promise<PlanOutput> => {
    const r = await cli('plan', '--diff', '--json');
    assert.equal(r.exitCode, 1, r.stderr + r.stdout);
    return JSON.parse(r.stdout) as PlanOutput;
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'reconix-diff-'));
    await writeFile(join(dir, 'reconix.yaml'), MANIFEST);
    await writeFile(
      join(dir, 'network.nix'),
      network([['demo-tool', '1.0', 16]], { motd: 'one\n', 'keep.conf': 'same\n' }),
    );
    const r = await cli('deploy');
    assert.equal(r.exitCode, 0, r.stderr + r.stdout);
  });
  after(async () => {
    if (dir) await cli('destroy');
    await rm(dir, { recursive: true, force: true });
  });

  it('shows exactly the packages and /etc files that change, with versions and size deltas', async () => {
    // GIVEN the network changed: demo-tool 1.0 -> 1.1 (48 KiB more), a package added, /etc files edited
    await writeFile(
      join(dir, 'network.nix'),
      network(
        [
          ['demo-tool', '1.1', 64],
          ['extra-lib', '2.3', 4],
        ],
        { motd: 'two\n', 'keep.conf': 'same\n', 'demo.conf': 'new\n' },
      ),
    );

    // WHEN plan --diff --json asks
    const out = await plan();

    // THEN the machine's diff names those changes and nothing else
    const d = out.diffs?.machine;
    assert.ok(d, JSON.stringify(out));
    assert.match(d.from ?? '', /-nixos-system-machine-mini-1$/);
    assert.notEqual(d.from, d.to);
    assert.deepEqual(
      d.packages.map((p) => [p.name, p.before, p.after]),
      [
        ['demo-tool', ['1.0'], ['1.1']],
        ['extra-lib', [], ['2.3']],
      ],
    );
    assert.equal(d.packages[0]!.sizeDelta, 48 * 1024);
    assert.ok(d.packages[1]!.sizeDelta >= 4 * 1024, JSON.stringify(d.packages[1]));
    assert.deepEqual(d.etc, { added: ['demo.conf'], removed: [], changed: ['motd'] });
    assert.equal(d.units, undefined, 'the mini builder has no units');
    // The toplevel and both packages are new paths; the old toplevel and demo-tool-1.0 are gone.
    assert.deepEqual(d.paths, { added: 3, removed: 2 });
  });

  it('prints the same diff as text, and deploy --diff prints it before deploying', async () => {
    const planned = await cli('plan', '--diff');
    assert.equal(planned.exitCode, 1, planned.stderr);
    assert.match(planned.stdout, /~ machine .*\n {4}closure: 3 paths added, 2 removed, \+/);
    assert.match(planned.stdout, /^ {6}demo-tool: 1\.0 -> 1\.1, \+48\.0 KiB$/m);
    assert.match(planned.stdout, /^ {6}extra-lib: ∅ -> 2\.3, \+\d/m);
    assert.match(planned.stdout, /^ {6}\+ \/etc\/demo\.conf$/m);
    assert.match(planned.stdout, /^ {6}~ \/etc\/motd$/m);
    assert.doesNotMatch(planned.stdout, /keep\.conf/);

    const deployed = await cli('deploy', '--diff');
    assert.equal(deployed.exitCode, 0, deployed.stderr + deployed.stdout);
    const diffAt = deployed.stdout.indexOf('demo-tool: 1.0 -> 1.1');
    const activatedAt = deployed.stdout.search(/machine\s+activated/);
    assert.ok(diffAt >= 0 && activatedAt > diffAt, deployed.stdout);

    // Once deployed, nothing is left to diff.
    const after = await cli('plan', '--diff', '--json');
    assert.equal(after.exitCode, 0, after.stderr + after.stdout);
    assert.equal((JSON.parse(after.stdout) as PlanOutput).diffs, undefined);
  });
  it('keeps the diff in the report of deploy --diff --json, computed before it activated', async () => {
    await writeFile(join(dir, 'network.nix'), network([['demo-tool', '1.2', 64]], { motd: 'two\n' }));
    const r = await cli('deploy', '--diff', '--json');
    assert.equal(r.exitCode, 0, r.stderr + r.stdout);
    const m = (JSON.parse(r.stdout.trim().split('\n').at(-1)!) as DeployOutput).machines.machine!;
    assert.equal(m.outcome, 'activated');
    assert.equal(m.diff?.to, m.current);
    assert.deepEqual(
      m.diff?.packages.map((p) => [p.name, p.before, p.after]),
      [
        ['demo-tool', ['1.1'], ['1.2']],
        ['extra-lib', ['2.3'], []],
      ],
    );
    assert.deepEqual(m.diff?.etc, { added: [], removed: ['demo.conf', 'keep.conf'], changed: [] });
  });
});
