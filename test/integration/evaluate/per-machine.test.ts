// A change re-evaluates only the machines that read what changed (real, restricted Nix): each machine's files, a
// module two machines share, a file read with readFile, a file whose absence a machine tested, a file nothing reads
// and the network file itself. Every nix-instantiate of systems is seen through the evaluator's runner seam.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { InfraFacts, PhysicalView, SystemRef } from '../../../src/core/model.js';
import type { NetworkSource } from '../../../src/core/ports.js';
import { CachingEvaluator } from '../../../src/evaluate/cache.js';
import { NixEvaluator } from '../../../src/evaluate/evaluator.js';
import { NixLocalStore } from '../../../src/nixstore/store.js';
import { runProcess, type Runner } from '../../../src/util/exec.js';
import { silentLogger } from '../../../src/util/log.js';

const NO_FACTS: InfraFacts = { machines: {}, resources: {} };
const MACHINES = ['db', 'web1', 'web2'];

const NETWORK = `{
  defaults.deployment.targetEnv = "none";
  defaults.system.stateVersion = "24.05";
  web1 = import ./machines/web1.nix;
  web2 = import ./machines/web2.nix;
  db = import ./machines/db.nix;
}
`;
const FILES: Record<string, string> = {
  'network.nix': NETWORK,
  'machines/web1.nix': '{ imports = [ ../common/web.nix ]; environment.etc.role.text = "web1 v1"; }\n',
  'machines/web2.nix': [
    '{ lib, ... }: {',
    '  imports = [ ../common/web.nix ];',
    '  environment.etc.extra.text = if builtins.pathExists ../files/web2-extra then "extra" else "none";',
    '}',
    '',
  ].join('\n'),
  'machines/db.nix': '{ environment.etc."db.conf".text = builtins.readFile ../files/db.conf; }\n',
  'common/web.nix': '{ environment.etc.web.text = "web v1"; }\n',
  'files/db.conf': 'max_connections = 10\n',
  README: 'The machines of this network.\n',
};

describe('a change re-evaluates only the machines that read it (restricted, real Nix)', function () {
  this.timeout(120_000);
  let dir: string;
  let evaluated: string[][];
  /** The machines of each kind of evaluation (`-A` attribute) since `evaluatedBy` began. */
  let byAttr: Record<string, string[]>;
  let src: NetworkSource;

  /** A runner that notes the machines of every systems evaluation before running it. */
  const noting: Runner = async (cmd, args, opts) => {
    const only = args.indexOf('onlyFile');
    const attr = args[args.indexOf('-A') + 1]!;
    const machines = only >= 0 ? (JSON.parse(await readFile(args[only + 1]!, 'utf8')) as string[]) : [];
    if (attr === 'systems') evaluated.push([...machines].sort());
    byAttr[attr] = [...(byAttr[attr] ?? []), ...machines].sort();
    return runProcess(cmd, args, opts);
  };

  const cached = (restrictEval: boolean) =>
    new CachingEvaluator(
      new NixEvaluator({ scratchDir: join(dir, 'scratch'), runner: noting, restrictEval }),
      {
        dir: join(dir, 'cache'),
        store: new NixLocalStore(),
        log: silentLogger,
      },
    );

  /** The machines evaluated by `f`, in one sorted list. */
  const evaluatedBy = async (f: () => Promise<unknown>): Promise<string[]> => {
    evaluated = [];
    byAttr = {};
    await f();
    return evaluated.flat().sort();
  };

  const edit = (file: string, text: string) => writeFile(join(dir, 'net', file), text);

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'reconix-permachine-'));
    for (const [file, text] of Object.entries(FILES)) {
      await mkdir(join(dir, 'net', file, '..'), { recursive: true });
      await writeFile(join(dir, 'net', file), text);
    }
    src = { deployment: 'd', files: [join(dir, 'net', 'network.nix')], args: {}, builder: 'mini' };
    evaluated = [];
    byAttr = {};
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('evaluates again each machine whose read files changed, and no other', async () => {
    const cache = cached(true);
    let systems: Record<string, SystemRef> = {};
    let physical: PhysicalView | undefined;
    // As a reconcile asks: the physical view, then the systems.
    const run = async () => {
      physical = await cache.physical(src);
      systems = await cache.systems(src, NO_FACTS, MACHINES);
    };
    // GIVEN a first evaluation: three machines, so one process each
    await run();
    assert.deepEqual(
      evaluated.map((b) => b.length),
      [1, 1, 1],
    );
    const first = systems;

    // WHEN nothing changed THEN nothing is evaluated
    assert.deepEqual(await evaluatedBy(run), []);

    // WHEN one machine's own module changes THEN that machine alone is evaluated, and only its system changes
    await edit('machines/web1.nix', FILES['machines/web1.nix']!.replace('v1', 'v2'));
    assert.deepEqual(await evaluatedBy(run), ['web1']);
    // its physical part and host entry too, and nothing else of any machine
    assert.deepEqual(byAttr, { physicalMachines: ['web1'], hostEntries: ['web1'], systems: ['web1'] });
    assert.notEqual(systems.web1!.drvPath, first.web1!.drvPath);
    assert.equal(systems.web2!.drvPath, first.web2!.drvPath);
    assert.equal(systems.db!.drvPath, first.db!.drvPath);

    // WHEN a module that two machines import changes THEN those two are evaluated
    await edit('common/web.nix', FILES['common/web.nix']!.replace('v1', 'v2'));
    assert.deepEqual(await evaluatedBy(run), ['web1', 'web2']);

    // WHEN a file one machine reads with readFile changes THEN that machine is evaluated
    await edit('files/db.conf', 'max_connections = 20\n');
    assert.deepEqual(await evaluatedBy(run), ['db']);

    // WHEN a file appears whose absence one machine tested THEN that machine is evaluated, and sees it
    const before = systems.web2!.drvPath;
    await edit('files/web2-extra', 'yes\n');
    assert.deepEqual(await evaluatedBy(run), ['web2']);
    assert.notEqual(systems.web2!.drvPath, before);

    // WHEN a file that no evaluation reads changes THEN nothing is evaluated
    await edit('README', 'Changed.\n');
    assert.deepEqual(await evaluatedBy(run), []);

    // WHEN the network file changes THEN every machine is evaluated
    await edit('network.nix', `# comment\n${NETWORK}`);
    assert.deepEqual(await evaluatedBy(run), MACHINES);

    // AND the physical view and the systems are those of an evaluation without any cache
    const plain = new NixEvaluator({ scratchDir: join(dir, 'scratch'), restrictEval: true });
    assert.deepEqual(physical, await plain.physical(src));
    assert.deepEqual(systems, await plain.systems(src, NO_FACTS, MACHINES));
  });

  it('a machine whose module changed back is evaluated, and gets its first system again', async () => {
    const cache = cached(true);
    const first = await cache.systems(src, NO_FACTS, MACHINES);
    await edit('machines/db.nix', '{ environment.etc."db.conf".text = "inline"; }\n');
    await cache.systems(src, NO_FACTS, MACHINES);
    await edit('machines/db.nix', FILES['machines/db.nix']!);
    let back: Record<string, SystemRef> = {};
    assert.deepEqual(await evaluatedBy(async () => (back = await cache.systems(src, NO_FACTS, MACHINES))), [
      'db',
    ]);
    assert.deepEqual(back, first);
  });

  it('a tree moved to a new path (a new revision) keeps the results that do not name its path', async () => {
    // GIVEN the network at a revision's path, and a machine whose system names the path of its tree
    const at = (rev: string) => join(dir, `tree-${rev}`);
    const copy = async (rev: string, extra: Record<string, string> = {}) => {
      for (const [file, text] of Object.entries({ ...FILES, ...extra })) {
        await mkdir(join(at(rev), file, '..'), { recursive: true });
        await writeFile(join(at(rev), file), text);
      }
      return { ...src, files: [join(at(rev), 'network.nix')], root: at(rev) };
    };
    const naming = { 'machines/db.nix': '{ environment.etc.where.text = toString ./.; }\n' };
    const cache = cached(true);
    const run = async (s: NetworkSource) => {
      await cache.physical(s);
      return cache.systems(s, NO_FACTS, MACHINES);
    };
    await run(await copy('a1b2c3', naming));
    // WHEN the same files are at a new path THEN only the machine whose system names the path is evaluated
    const moved = await copy('d4e5f6', naming);
    let systems: Record<string, SystemRef> = {};
    assert.deepEqual(await evaluatedBy(async () => (systems = await run(moved))), ['db']);
    // AND the systems are those of an evaluation at the new path without any cache
    const plain = new NixEvaluator({ scratchDir: join(dir, 'scratch'), restrictEval: true });
    assert.deepEqual(systems, await plain.systems(moved, NO_FACTS, MACHINES));
    assert.deepEqual(await cache.physical(moved), await plain.physical(moved));
    // WHEN the next revision also edits one machine THEN that machine is evaluated (and db, which names the path)
    const edited = await copy('a7b8c9', {
      ...naming,
      'machines/web2.nix': FILES['machines/web2.nix']!.replace('none', 'nothing'),
    });
    assert.deepEqual(await evaluatedBy(() => run(edited)), ['db', 'web2']);
  });

  it("changed facts re-evaluate every machine: any machine may read another machine's", async () => {
    const cache = cached(true);
    await cache.systems(src, NO_FACTS, MACHINES);
    const facts: InfraFacts = { machines: { db: { privateIPv4: '127.77.0.9' } }, resources: {} };
    assert.deepEqual(await evaluatedBy(() => cache.systems(src, facts, MACHINES)), MACHINES);
  });

  it('without restricted mode, Nix does not say what it read: a change re-evaluates every machine', async () => {
    const cache = cached(false);
    await cache.systems(src, NO_FACTS, MACHINES);
    assert.deepEqual(await evaluatedBy(() => cache.systems(src, NO_FACTS, MACHINES)), []);
    await edit('machines/web1.nix', FILES['machines/web1.nix']!.replace('v1', 'v2'));
    assert.deepEqual(await evaluatedBy(() => cache.systems(src, NO_FACTS, MACHINES)), MACHINES);
  });
});
