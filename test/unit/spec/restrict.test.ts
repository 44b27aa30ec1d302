import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NetworkSource } from '../../../src/core/ports.js';
import { NIX_DIR, NixEvaluator } from '../../../src/evaluate/evaluator.js';
import { networkDir, restrictedEnv } from '../../../src/evaluate/restrict.js';
import { librariesOf } from '../../../src/nixstore/sandbox.js';
import type { ExecOptions, ExecResult, Runner } from '../../../src/util/exec.js';

const ok = (stdout: string): ExecResult => ({
  command: 'nix-instantiate',
  exitCode: 0,
  signal: null,
  stdout,
  stderr: '',
  timedOut: false,
});

describe('restricted evaluation (arguments and environment)', () => {
  let work: string;
  let net: string;
  beforeEach(async () => {
    work = await realpath(await mkdtemp(join(tmpdir(), 'reconix-restrict-unit-')));
    net = join(work, 'net');
    await mkdir(net);
  });
  afterEach(() => rm(work, { recursive: true, force: true }));

  function recording() {
    const calls: { args: readonly string[]; options: ExecOptions | undefined }[] = [];
    const runner: Runner = async (_file, args, options) => {
      calls.push({ args, options });
      return ok(JSON.stringify({ description: '', machines: {}, resources: {} }));
    };
    return { calls, runner };
  }
  const src = (root?: string): NetworkSource => ({
    deployment: 'web',
    files: [join(net, 'network.nix')],
    ...(root ? { root } : {}),
    args: {},
    builder: 'mini',
  });
  const secretEnv = {
    PATH: '/usr/bin:/bin',
    HOME: '/root',
    AWS_SECRET_ACCESS_KEY: 'canary',
    NIX_PATH: 'nixpkgs=/somewhere',
    NIX_REMOTE: 'daemon',
  };

  it('searches only the network, the call and the library, with restrict-eval on and no URI allowed', async () => {
    const { calls, runner } = recording();
    const evaluator = new NixEvaluator({
      scratchDir: join(work, 'scratch'),
      runner,
      env: secretEnv,
    }).restricted();
    await evaluator.physical(src(net));
    const args = calls[0]?.args ?? [];
    const option = (name: string) => args[args.indexOf(name) + 1];
    assert.equal(option('restrict-eval'), 'true');
    assert.equal(option('allowed-uris'), '');
    assert.equal(option('nix-path'), '', 'the default channels are not added to the allowed paths');
    const search = args.flatMap((a, i) => (args[i - 1] === '-I' ? [a] : []));
    assert.equal(search.length, 3);
    assert.equal(search[0], `reconix-network=${net}`);
    assert.match(search[1] ?? '', new RegExp(`^reconix-eval=${join(work, 'scratch')}/eval-[^/]+$`));
    assert.equal(search[2], `reconix-lib=${await realpath(NIX_DIR)}`);
    // The argument files live in the call's own directory, which the search path names.
    const evalDir = (search[1] ?? '').slice('reconix-eval='.length);
    assert.ok(args[args.indexOf('argsFile') + 1]?.startsWith(`${evalDir}/`));
  });

  it('runs nix-instantiate without the controller environment: PATH, an empty HOME and Nix settings', async () => {
    const { calls, runner } = recording();
    const evaluator = new NixEvaluator({
      scratchDir: join(work, 'scratch'),
      runner,
      env: secretEnv,
    }).restricted();
    await evaluator.physical(src(net));
    const env = calls[0]?.options?.env ?? {};
    assert.deepEqual(Object.keys(env).sort(), ['HOME', 'NIX_REMOTE', 'PATH', 'TMPDIR']);
    assert.equal(env.NIX_REMOTE, 'daemon');
    assert.notEqual(env.HOME, '/root');
    assert.deepEqual(await readdir(join(work, 'scratch')), [], "the call's directory is removed afterwards");
  });

  it('keeps the unrestricted evaluation by default, with the environment as it is', async () => {
    const { calls, runner } = recording();
    await new NixEvaluator({ scratchDir: join(work, 'scratch'), runner }).physical(src(net));
    const args = calls[0]?.args ?? [];
    assert.ok(!args.includes('restrict-eval') && !args.includes('-I'));
    assert.equal(calls[0]?.options?.env, undefined);
  });

  it('keeps only the Nix settings it knows', () => {
    const env = restrictedEnv({ ...secretEnv, NIX_SSHOPTS: '-i key', NIX_CONF_DIR: '/etc/nix' }, '/h', '/t');
    assert.deepEqual(env, {
      PATH: '/usr/bin:/bin',
      HOME: '/h',
      TMPDIR: '/t',
      NIX_REMOTE: 'daemon',
      NIX_CONF_DIR: '/etc/nix',
    });
  });

  it("takes the network's directory from its source, else the deepest directory holding its files", () => {
    const s = (files: string[], root?: string): NetworkSource => ({
      deployment: 'd',
      files,
      ...(root ? { root } : {}),
      args: {},
      builder: 'mini',
    });
    assert.equal(networkDir(s(['/src/a/web/network.nix'], '/src/a')), '/src/a');
    assert.equal(networkDir(s(['/src/a/web/network.nix', '/src/a/physical.nix'])), '/src/a');
    assert.equal(networkDir(s(['/src/ab/x.nix', '/src/a/y.nix'])), '/src');
    assert.equal(networkDir(s(['/x.nix', '/src/y.nix'])), '/');
  });
});

describe('the build sandbox toolbox', () => {
  it('reads the libraries and the loader from ldd, and nothing of a static program', () => {
    const out = [
      '\tlinux-vdso.so.1 (0x00007f3e6fbcb000)',
      '\tlibselinux.so.1 => /lib/x86_64-linux-gnu/libselinux.so.1 (0x00007f3e6fb67000)',
      '\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f3e6f972000)',
      '\t/lib64/ld-linux-x86-64.so.2 (0x00007f3e6fbcd000)',
    ].join('\n');
    assert.deepEqual(librariesOf(out), [
      '/lib/x86_64-linux-gnu/libselinux.so.1',
      '/lib/x86_64-linux-gnu/libc.so.6',
      '/lib64/ld-linux-x86-64.so.2',
    ]);
    assert.deepEqual(librariesOf('\tnot a dynamic executable\n'), []);
  });
});
