import assert from 'node:assert/strict';
import {
  closureDiff,
  diffEtc,
  diffPackages,
  formatDelta,
  packageLine,
  parseDryActivate,
  splitName,
  storeName,
  type SizedPath,
} from '../../../src/plan/closure-diff.js';
import { parseHostSystem } from '../../../src/observe/diff.js';

const H = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
const H2 = 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb';
const p = (name: string, narSize: number, hash = H): SizedPath => ({
  path: `/nix/store/${hash}-${name}`,
  narSize,
});

describe('closure diffs', () => {
  describe('splitting a store path name into package and version', () => {
    const cases: [string, string, string][] = [
      ['hello-2.12', 'hello', '2.12'],
      ['demo-tool-1.0', 'demo-tool', '1.0'],
      ['python3.11-requests-2.31.0', 'python3.11-requests', '2.31.0'],
      ['openssl-3.0.13-dev', 'openssl', '3.0.13'],
      ['gcc-12.3.0-lib', 'gcc', '12.3.0'],
      ['perl-5.38.2-man', 'perl', '5.38.2'],
      ['etc-hosts', 'etc-hosts', ''],
      ['unit-sshd.service', 'unit-sshd.service', ''],
      ['nixos-system-web-24.05.1234', 'nixos-system-web', '24.05.1234'],
      ['foo-bar-1.0-rc1', 'foo-bar', '1.0-rc1'],
      ['x264-0.164', 'x264', '0.164'],
      ['glibc-2.39-52', 'glibc', '2.39-52'],
      ['source', 'source', ''],
    ];
    for (const [name, pkg, version] of cases) {
      it(`reads ${name} as ${pkg} version ${JSON.stringify(version)}`, () => {
        assert.deepEqual(splitName(name), { name: pkg, version });
      });
    }
    it('drops the hash of a store path', () => {
      assert.equal(storeName(`/nix/store/${H}-hello-2.12`), 'hello-2.12');
    });
  });

  describe('grouping closures by package', () => {
    const cases: [string, SizedPath[], SizedPath[], ReturnType<typeof diffPackages>][] = [
      [
        'a version change with its size',
        [p('hello-2.10', 100_000), p('glibc-2.39', 5_000_000)],
        [p('hello-2.12', 1_358_000, H2), p('glibc-2.39', 5_000_000)],
        [{ name: 'hello', before: ['2.10'], after: ['2.12'], sizeDelta: 1_258_000 }],
      ],
      [
        'a package added and one removed',
        [p('old-tool-0.9', 20_000)],
        [p('new-tool-3.1', 30_000)],
        [
          { name: 'new-tool', before: [], after: ['3.1'], sizeDelta: 30_000 },
          { name: 'old-tool', before: ['0.9'], after: [], sizeDelta: -20_000 },
        ],
      ],
      [
        'outputs of one package counted together',
        [p('openssl-3.0.12', 1_000_000), p('openssl-3.0.12-dev', 500_000)],
        [p('openssl-3.0.13', 1_000_000, H2), p('openssl-3.0.13-dev', 600_000, H2)],
        [{ name: 'openssl', before: ['3.0.12'], after: ['3.0.13'], sizeDelta: 100_000 }],
      ],
      [
        'several versions of one package, only the changed ones shown',
        [p('python3-3.11.9', 50_000_000), p('python3-3.12.4', 50_000_000)],
        [p('python3-3.12.4', 50_000_000), p('python3-3.13.0', 52_000_000)],
        [{ name: 'python3', before: ['3.11.9'], after: ['3.13.0'], sizeDelta: 2_000_000 }],
      ],
      [
        'a change of size only, from 8 KiB',
        [p('glibc-2.39', 5_000_000), p('etc-hosts', 100)],
        [p('glibc-2.39', 5_016_384, H2), p('etc-hosts', 120, H2)],
        [{ name: 'glibc', before: [], after: [], sizeDelta: 16_384 }],
      ],
      ['nothing when the closures match', [p('hello-2.12', 10)], [p('hello-2.12', 10)], []],
    ];
    for (const [what, before, after, want] of cases) {
      it(`shows ${what}`, () => assert.deepEqual(diffPackages(before, after), want));
    }
  });

  describe('lines as diff-closures prints them', () => {
    const cases: [Parameters<typeof packageLine>[0], string][] = [
      [
        { name: 'hello', before: ['2.10'], after: ['2.12'], sizeDelta: 1_258_291 },
        'hello: 2.10 -> 2.12, +1.2 MiB',
      ],
      [{ name: 'new', before: [], after: ['3.1'], sizeDelta: 30_720 }, 'new: ∅ -> 3.1, +30.0 KiB'],
      [{ name: 'gone', before: ['1', '2'], after: [], sizeDelta: -2048 }, 'gone: 1, 2 -> ∅, -2.0 KiB'],
      [{ name: 'unit', before: [''], after: ['1'], sizeDelta: 0 }, 'unit: ε -> 1'],
      [{ name: 'glibc', before: [], after: [], sizeDelta: 16_384 }, 'glibc: +16.0 KiB'],
    ];
    for (const [change, line] of cases) it(`prints ${line}`, () => assert.equal(packageLine(change), line));
    it('prints small deltas in bytes', () => assert.equal(formatDelta(-120), '-120 B'));
  });

  it('compares etc trees by what each file points to', () => {
    const before = new Map([
      ['hosts', 'link:/nix/store/x-etc-hosts'],
      ['motd', 'sha256:aa'],
      ['gone', 'sha256:cc'],
    ]);
    const after = new Map([
      ['hosts', 'link:/nix/store/x-etc-hosts'],
      ['motd', 'sha256:bb'],
      ['ssh/sshd_config', 'link:/nix/store/y-sshd_config'],
    ]);
    assert.deepEqual(diffEtc(before, after), {
      added: ['ssh/sshd_config'],
      removed: ['gone'],
      changed: ['motd'],
    });
  });

  it("reads the units of NixOS's dry-activate output and ignores its other lines", () => {
    const out = [
      'would stop the following units: old.service',
      'activating the configuration...',
      'would restart systemd',
      'would restart the following units: nginx.service, sshd.service',
      'would start the following units: new.timer',
      'would reload the following units: dbus.service',
      'would restart the following units: nginx.service',
    ].join('\n');
    assert.deepEqual(parseDryActivate(out), {
      stop: ['old.service'],
      restart: ['nginx.service', 'sshd.service'],
      start: ['new.timer'],
      reload: ['dbus.service'],
    });
  });

  it('counts the paths added and removed and the closure sizes', () => {
    const d = closureDiff({
      from: `/nix/store/${H}-nixos-system-a-1`,
      to: `/nix/store/${H2}-nixos-system-a-1`,
      before: [p('nixos-system-a-1', 10), p('hello-2.10', 100)],
      after: [p('nixos-system-a-1', 10, H2), p('hello-2.10', 100)],
      etcBefore: new Map(),
      etcAfter: new Map(),
    });
    assert.deepEqual(d.paths, { added: 1, removed: 1 });
    assert.deepEqual(d.size, { before: 110, after: 110 });
    assert.deepEqual(d.packages, []);
  });

  it("parses the host's answer: paths, their sizes in order, links and file hashes", () => {
    const hex = 'a'.repeat(64);
    const s = '--reconix-section--\n';
    const out = `/nix/store/${H}-a\n/nix/store/${H2}-b\n${s}10\n20\n${s}/nix/store/x-y\tssh/k\n${s}${hex}  ./motd\n`;
    const host = parseHostSystem(out);
    assert.deepEqual(host.closure, [p('a', 10), p('b', 20, H2)]);
    assert.deepEqual(
      [...host.etc],
      [
        ['ssh/k', 'link:/nix/store/x-y'],
        ['motd', `sha256:${hex}`],
      ],
    );
  });
});
