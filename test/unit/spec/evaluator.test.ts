import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Reason } from '../../../src/api/conditions.js';
import { ReconixError } from '../../../src/core/errors.js';
import type { NetworkSource } from '../../../src/core/ports.js';
import { NIX_DIR, networkReads, NixEvaluator } from '../../../src/evaluate/evaluator.js';
import { cleanNixError } from '../../../src/util/text.js';
import type { ExecResult, Runner } from '../../../src/util/exec.js';

const SRC: NetworkSource = {
  deployment: 'web',
  files: ['/srv/net/network.nix'],
  args: { domain: '$(touch /tmp/x); "quoted"' },
  builder: 'mini',
};

function result(stdout: string, stderr = '', exitCode = 0): ExecResult {
  return { command: 'nix-instantiate', exitCode, signal: null, stdout, stderr, timedOut: false };
}

/** A runner that records its calls, with the JSON argument files read while they still exist. */
function fakeRunner(reply: ExecResult) {
  const calls: { file: string; args: readonly string[]; files: Record<string, unknown> }[] = [];
  const runner: Runner = async (file, args) => {
    const files: Record<string, unknown> = {};
    args.forEach((a, i) => {
      if (args[i - 1] === '--argstr' || !a.endsWith('.json')) return;
      files[String(args[i - 1])] = JSON.parse(readFileSync(a, 'utf8'));
    });
    calls.push({ file, args, files });
    return reply;
  };
  return { runner, calls };
}

describe('NixEvaluator (with a fake nix-instantiate)', () => {
  let scratch: string;
  beforeEach(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'reconix-eval-unit-'));
  });
  afterEach(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  it('passes the network, args and facts as JSON files and nothing else', async () => {
    // GIVEN a nix-instantiate that answers with one system
    const drv = '/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-nixos-system-web-mini-1.drv';
    const out = '/nix/store/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-nixos-system-web-mini-1';
    const { runner, calls } = fakeRunner(result(JSON.stringify({ web: { drvPath: drv, out } })));
    const evaluator = new NixEvaluator({ scratchDir: scratch, runner });
    // WHEN the systems are asked for
    const facts = { machines: { web: { privateIPv4: '10.0.0.1' } }, resources: {} };
    const systems = await evaluator.systems(SRC, facts, ['web']);
    // THEN the answer is mapped, and every value travelled in a file
    assert.deepEqual(systems, { web: { drvPath: drv, outPath: out } });
    const [call] = calls;
    assert.ok(call);
    assert.equal(call.file, 'nix-instantiate');
    assert.ok(call.args.includes(join(NIX_DIR, 'eval-network.nix')));
    assert.ok(call.args.includes('--read-write-mode'), 'derivations are written to the store');
    assert.deepEqual(call.args.slice(call.args.indexOf('-A'), call.args.indexOf('-A') + 2), [
      '-A',
      'systems',
    ]);
    assert.ok(!call.args.some((a) => a.includes('touch')), 'no spec value on the command line');
    assert.deepEqual(call.files, {
      networkFiles: SRC.files,
      argsFile: SRC.args,
      factsFile: facts,
      onlyFile: ['web'],
    });
    assert.deepEqual(readdirSync(scratch), [], 'the argument files are removed afterwards');
  });

  it('turns a Nix error into EvaluationFailed that asks for a human', async () => {
    const stderr = "\x1b[31;1merror:\x1b[0m undefined variable 'x'\n\n       at /srv/net/network.nix:3:5:\n";
    const { runner } = fakeRunner(result('', stderr, 1));
    const evaluator = new NixEvaluator({ scratchDir: scratch, runner });
    await assert.rejects(evaluator.physical(SRC), (err: unknown) => {
      assert.ok(err instanceof ReconixError);
      assert.equal(err.reason, Reason.EvaluationFailed);
      assert.equal(err.reaction, 'stall');
      assert.equal(
        err.message,
        "evaluating web failed: error: undefined variable 'x'\n\n       at /srv/net/network.nix:3:5:",
      );
      return true;
    });
  });

  it('refuses output that does not have the shape of a physical view', async () => {
    const { runner } = fakeRunner(
      result(JSON.stringify({ description: 'x', machines: { a: { name: 'a' } }, resources: {} })),
    );
    const evaluator = new NixEvaluator({ scratchDir: scratch, runner });
    await assert.rejects(
      evaluator.physical(SRC),
      /unexpected physical view from the evaluator at \/machines\/a/,
    );
  });

  it('keeps at most 40 lines of a long error, starting at the error itself', () => {
    const long = [
      'warning: something',
      'error: boom',
      ...Array.from({ length: 100 }, (_, i) => `line ${i}`),
    ].join('\n');
    const lines = cleanNixError(long).split('\n');
    assert.equal(lines.length, 40);
    assert.equal(lines[0], 'error: boom');
    assert.match(lines[39] ?? '', /more lines/);
  });
});

describe("what a restricted evaluation read, from Nix's debug lines", () => {
  it('names each network path once, and leaves out the call’s own files and the Nix library', () => {
    const stderr = [
      "resolved search path element '/srv/net' to '/srv/net'",
      "checking access to '/srv/net/network.nix'",
      "checking access to '/tmp/eval-1/args.json'",
      `checking access to '${NIX_DIR}/eval-network.nix'`,
      "checking access to '/srv/net/modules/web.nix'",
      "evaluating file '/srv/net/modules/web.nix'",
      "checking access to '/srv/net/network.nix'",
      "checking access to '/srv/net/files/it's here'",
      'trace: checking access to the side door',
    ].join('\n');
    assert.deepEqual(networkReads(stderr, ['/tmp/eval-1', NIX_DIR]), [
      "/srv/net/files/it's here",
      '/srv/net/modules/web.nix',
      '/srv/net/network.nix',
    ]);
  });

  it('asks Nix for its debug lines and keeps them out of the error it reports', async () => {
    const stderr = [
      "checking access to '/srv/net/network.nix'",
      'error: undefined variable',
      "evaluating file '/srv/net/x.nix'",
      '       at /srv/net/network.nix:3:5',
    ].join('\n');
    const { runner, calls } = fakeRunner(result('', stderr, 1));
    const dir = await mkdtemp(join(tmpdir(), 'reconix-eval-'));
    try {
      const src = { ...SRC, files: [join(dir, 'network.nix')] };
      const e = new NixEvaluator({ scratchDir: dir, runner, restrictEval: true });
      const lines = { m: { host: null, knownHost: null } };
      await assert.rejects(
        e.systemsAndReads(src, { machines: {}, resources: {} }, ['m'], lines),
        (err: ReconixError) =>
          err.message.includes('undefined variable') && !err.message.includes('evaluating file'),
      );
      assert.ok(calls[0]!.args.includes('--debug'));
      assert.ok(calls[0]!.args.includes('hostEntriesFile'));
      await assert.rejects(
        new NixEvaluator({ scratchDir: dir, runner }).systemsAndReads(
          SRC,
          { machines: {}, resources: {} },
          ['m'],
          lines,
        ),
        /restricted/,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
