// Generated network files, machine names and args through the real evaluator (real nix-instantiate, restricted
// mode, as Kubernetes mode runs it): each run ends in a physical view or a clear ReconixError (a reason, a message
// without a stack trace), never in a crash or a hang; and no generated text ever reaches nix-instantiate's argv,
// which holds only fixed flags and paths of files Reconix wrote.
import assert from 'node:assert/strict';
import { realpathSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { ReconixError } from '../../../src/core/errors.js';
import { NIX_DIR, NixEvaluator } from '../../../src/evaluate/evaluator.js';
import { runProcess, type Runner } from '../../../src/util/exec.js';
import { SEED, words } from '../../support/fuzz.js';

/** Each run starts nix-instantiate once: 300 runs take a minute or two on a loaded machine. */
const RUNS = Number(process.env.RECONIX_EVAL_FUZZ_RUNS ?? 300);
const PER_RUN_MS = 30_000;
/** What nix-instantiate's argv may hold besides paths of files Reconix wrote. */
const FIXED_ARGS = new Set(
  [
    '--option',
    'restrict-eval',
    'true',
    'allowed-uris',
    '',
    'nix-path',
    '-I',
    '--eval',
    '--strict',
    '--json',
  ].concat(['--argstr', 'networkFiles', 'argsFile', 'builder', 'mini', '-A', 'physical']),
);

const word = words(12, /^[a-z][a-z0-9-]{0,20}$/, ['-A', '--eval', ' ']);
/** A Nix string literal of any text: `"`, `\` and `${` escaped. */
const nixString = (s: string) => `"${s.replace(/[\\"$]/g, (c) => `\\${c}`)}"`;
const value = fc.oneof(
  word.map(nixString),
  fc.integer().map(String),
  fc.constantFrom(
    'true',
    'null',
    '[ ]',
    '{ }',
    'throw "no"',
    'abort "stop"',
    'builtins.getEnv "HOME"',
    '/etc/passwd',
    'import /etc/hostname',
    'let x = x; in x',
    'builtins.fetchurl "http://127.0.0.1:1/"',
  ),
);
const machine = fc.record({
  name: word,
  targetEnv: fc.oneof(fc.constantFrom('none', 'local', 'ec2', 'libvirtd'), word),
  host: fc.oneof(fc.constant('127.0.0.1'), word),
  extra: fc.array(
    fc.tuple(
      fc.constantFrom(
        'deployment.targetPort',
        'deployment.keys.k.text',
        'networking.hostName',
        'environment.etc.f.text',
        'deployment.ec2.region',
        'nonsense.option',
      ),
      value,
    ),
    { maxLength: 2 },
  ),
});
const structured = fc
  .record({ description: value, machines: fc.array(machine, { maxLength: 3 }), defaults: fc.option(value) })
  .map(
    ({ description, machines, defaults }) =>
      `{ network.description = ${description};\n` +
      (defaults === null ? '' : `  defaults = { ... }: { system.stateVersion = ${defaults}; };\n`) +
      machines
        .map(
          (m) =>
            `  ${nixString(m.name)} = { ... }: { deployment.targetEnv = ${nixString(m.targetEnv)}; ` +
            `deployment.targetHost = ${nixString(m.host)}; ${m.extra.map(([k, v]) => `${k} = ${v};`).join(' ')} };\n`,
        )
        .join('') +
      '}',
  );
const network = fc.oneof(
  { weight: 4, arbitrary: structured },
  { weight: 1, arbitrary: fc.string({ maxLength: 200 }) },
);
const args = fc.dictionary(word, word, { maxKeys: 3 });

describe(`the evaluator fed ${RUNS} generated networks (real nix-instantiate)`, function () {
  this.timeout(RUNS * PER_RUN_MS);
  let dir: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'reconix-eval-fuzz-'));
  });
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it(`ends each in a physical view or a clear error, with nothing generated in argv (seed ${SEED})`, async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(network, args, async (text, networkArgs) => {
        const root = join(dir, `run-${run++}`);
        const scratch = join(root, 'scratch');
        const file = join(root, 'network.nix');
        await mkdir(root, { recursive: true });
        await writeFile(file, text);
        const argvs: string[][] = [];
        const recording: Runner = (program, argv, options) => {
          argvs.push([program, ...argv]);
          return runProcess(program, argv, options);
        };
        const evaluator = new NixEvaluator({
          scratchDir: scratch,
          runner: recording,
          timeoutMs: 20_000,
          restrictEval: true,
        });
        const started = Date.now();
        const outcome = await evaluator
          .physical({ deployment: 'fuzz', files: [file], root, args: networkArgs, builder: 'mini' })
          .then(
            () => undefined,
            (err: unknown) => err,
          );
        assert.ok(Date.now() - started < PER_RUN_MS, 'the evaluation ended in bounded time');
        if (outcome !== undefined) {
          assert.ok(outcome instanceof ReconixError, `not a ReconixError: ${String(outcome)}`);
          assert.ok(outcome.reason && outcome.message.length > 0);
          assert.doesNotMatch(
            outcome.message,
            /\n\s+at .*:[0-9]+:[0-9]+\)?$/m,
            'a stack trace in the message',
          );
        }
        for (const argv of argvs) {
          for (const a of argv.slice(1)) {
            const fixed = FIXED_ARGS.has(a);
            const path = a.replace(/^reconix-(network|eval|lib)=/, '');
            const ours = [scratch, root, NIX_DIR, realpathSync(NIX_DIR)].some(
              (d) => path.startsWith(`${d}/`) || path === d,
            );
            assert.ok(
              fixed || ours,
              `nix-instantiate got an argument Reconix did not make: ${JSON.stringify(a)}`,
            );
          }
        }
        await rm(root, { recursive: true, force: true });
      }),
      { numRuns: RUNS, seed: SEED, endOnFailure: true },
    );
  });
});
