// The evaluation cache in front of an evaluator: what it answers itself, what it asks again, what it keeps.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { InfraFacts, KeySpec, PhysicalView, SystemRef } from '../../../src/core/model.js';
import type { Evaluator, NetworkSource } from '../../../src/core/ports.js';
import { CACHE_ENTRIES, CACHE_ENTRY_BYTES, CachingEvaluator } from '../../../src/evaluate/cache.js';
import { NixEvaluator, type ReadTracer } from '../../../src/evaluate/evaluator.js';
import type { Runner } from '../../../src/util/exec.js';
import { silentLogger } from '../../../src/util/log.js';

class FakeEvaluator implements Evaluator {
  calls = 0;
  physical(): Promise<PhysicalView> {
    this.calls++;
    return Promise.resolve({ machines: {}, resources: {} } as unknown as PhysicalView);
  }
  systems(_src: NetworkSource, facts: InfraFacts, machines: string[]): Promise<Record<string, SystemRef>> {
    this.calls++;
    const tag = JSON.stringify(facts).length;
    return Promise.resolve(
      Object.fromEntries(
        machines.map((m) => [
          m,
          { drvPath: `/nix/store/${m}-${tag}.drv`, outPath: `/nix/store/${m}-${tag}` },
        ]),
      ),
    );
  }
  keys(): Promise<Record<string, Record<string, KeySpec>>> {
    return Promise.resolve({ a: { secret: { text: 'hunter2' } as unknown as KeySpec } });
  }
}

const version: Runner = () =>
  Promise.resolve({
    command: 'nix-instantiate --version',
    exitCode: 0,
    signal: null,
    stdout: 'nix-instantiate (Nix) 2.8.0\n',
    stderr: '',
    timedOut: false,
  });

describe('the evaluation cache in front of an evaluator', () => {
  let dir: string;
  let inner: FakeEvaluator;
  let lost: Set<string>;
  let cache: CachingEvaluator;
  let src: NetworkSource;
  const facts = (ip: string): InfraFacts => ({ machines: { a: { privateIPv4: ip } }, resources: {} });

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'reconix-evalcache-'));
    await writeFile(join(dir, 'network.nix'), '{ }');
    await mkdir(join(dir, 'lib'));
    inner = new FakeEvaluator();
    lost = new Set();
    cache = new CachingEvaluator(inner, {
      dir: join(dir, 'cache'),
      skip: [join(dir, 'cache')],
      store: { validPaths: (paths) => Promise.resolve(new Set(paths.filter((p) => !lost.has(p)))) },
      log: silentLogger,
      runner: version,
      nixDir: join(dir, 'lib'),
      env: { NIX_PATH: join(dir, 'no-channel') },
    });
    src = { deployment: 'd', files: [join(dir, 'network.nix')], root: dir, args: {}, builder: 'mini' };
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('answers an unchanged evaluation itself and asks again when an input changed', async () => {
    const first = await cache.systems(src, facts('127.77.0.2'), ['a']);
    assert.deepEqual(await cache.systems(src, facts('127.77.0.2'), ['a']), first);
    await cache.physical(src);
    await cache.physical(src);
    assert.equal(inner.calls, 2);
    await cache.systems(src, facts('127.77.0.3'), ['a']);
    await writeFile(join(dir, 'network.nix'), '{ a = { }; }');
    await cache.physical(src);
    assert.equal(inner.calls, 4);
  });

  it('counts the machines it evaluated and those it answered itself, per deployment', async () => {
    await cache.systems(src, facts('127.77.0.2'), ['a']);
    await cache.systems(src, facts('127.77.0.2'), ['a']);
    await cache.systems(src, facts('127.77.0.3'), ['a']);
    await cache.systems({ ...src, deployment: 'e' }, facts('127.77.0.2'), ['a']);
    assert.deepEqual(cache.counts.entries(), [
      ['d', { evaluated: 2, cached: 1 }],
      ['e', { evaluated: 1, cached: 0 }],
    ]);
    // The restricted form of the cache counts in the same place; a deployment that is gone is forgotten.
    assert.equal(cache.restricted().counts, cache.counts);
    cache.counts.forget('e');
    assert.deepEqual(
      cache.counts.entries().map(([d]) => d),
      ['d'],
    );
  });

  it('evaluates again when the local store lost a cached derivation', async () => {
    const first = await cache.systems(src, facts('127.77.0.2'), ['a']);
    lost.add(first.a!.drvPath);
    await cache.systems(src, facts('127.77.0.2'), ['a']);
    assert.equal(inner.calls, 2);
  });

  it(`keeps at most ${CACHE_ENTRIES} results per deployment, the most recent ones`, async () => {
    for (let i = 0; i <= CACHE_ENTRIES; i++) await cache.systems(src, facts(`127.77.0.${i + 2}`), ['a']);
    const doc = JSON.parse(await readFile(join(dir, 'cache', 'd.json'), 'utf8')) as { entries: unknown[] };
    assert.equal(doc.entries.length, CACHE_ENTRIES);
    await cache.systems(src, facts(`127.77.0.${CACHE_ENTRIES + 2}`), ['a']);
    assert.equal(inner.calls, CACHE_ENTRIES + 1);
    await cache.systems(src, facts('127.77.0.2'), ['a']);
    assert.equal(inner.calls, CACHE_ENTRIES + 2, 'the oldest result was dropped');
  });

  it('keeps large results up to a size, the newest always', async () => {
    // Physical views as large as a deployment of thousands of cloud resources makes them.
    const big = Math.ceil(CACHE_ENTRY_BYTES / 3);
    let n = 0;
    inner.physical = () => {
      inner.calls++;
      n++;
      return Promise.resolve({
        machines: {},
        resources: { pad: 'x'.repeat(big), n },
      } as unknown as PhysicalView);
    };
    for (let i = 0; i < 5; i++) {
      await writeFile(join(dir, 'network.nix'), `{ v = ${i}; }`);
      await cache.physical(src);
    }
    const file = await readFile(join(dir, 'cache', 'd.json'), 'utf8');
    const doc = JSON.parse(file) as { entries: { value: { resources: { n: number } } }[] };
    assert.deepEqual(
      doc.entries.map((e) => e.value.resources.n),
      [5, 4, 3],
      'the newest three, within the size',
    );
    assert.ok(file.length < 4 * big + 10_000, `${file.length} bytes`);
    // The newest is kept whatever its size; an unchanged input is still answered from it.
    await cache.physical(src);
    assert.equal(inner.calls, 5);
  });

  it("stays in front of Nix's evaluator in restricted mode, as Kubernetes mode asks", () => {
    const nix = new NixEvaluator({ scratchDir: join(dir, 'scratch') });
    const restricted = new CachingEvaluator(nix, {
      dir,
      store: { validPaths: () => Promise.resolve(new Set()) },
      log: silentLogger,
    }).restricted();
    assert.ok(restricted.inner instanceof NixEvaluator && restricted.inner.isRestricted);
  });

  it('never writes the contents of keys into the cache', async () => {
    await cache.systems(src, facts('127.77.0.2'), ['a']);
    assert.equal((await cache.keys!(src, ['a'])).a!.secret!.text, 'hunter2');
    assert.doesNotMatch(await readFile(join(dir, 'cache', 'd.json'), 'utf8'), /hunter2/);
  });
});

/**
 * An evaluator that says what each machine read: `reads[m]` (default: the network file and the machine's own file),
 * and `during` runs while systems are evaluated. Systems are named after the contents of the machine's own file.
 */
class FakeTracer implements Evaluator, ReadTracer {
  readonly tracesReads = true;
  evaluated: string[] = [];
  reads: Record<string, string[]> = {};
  during: (() => Promise<void>) | undefined;
  constructor(private readonly dir: string) {}
  private readsOf(m: string) {
    return this.reads[m] ?? [join(this.dir, 'network.nix'), join(this.dir, `${m}.nix`)];
  }
  physical(): Promise<PhysicalView> {
    throw new Error('not asked of a tracer');
  }
  systems(): Promise<Record<string, SystemRef>> {
    throw new Error('not asked of a tracer');
  }
  namesAndReads() {
    return Promise.resolve({ names: ['a', 'b'], reads: [join(this.dir, 'network.nix')] });
  }
  physicalNetworkAndReads() {
    return Promise.resolve({
      value: { description: 'd', resources: {} },
      reads: [join(this.dir, 'network.nix')],
    });
  }
  physicalMachinesAndReads(_src: NetworkSource, machines: string[]) {
    const view = (m: string) =>
      ({
        name: m,
        targetEnv: 'none',
        targetPort: 22,
        targetUser: 'root',
        keys: [],
      }) as unknown as PhysicalView['machines'][string];
    return Promise.resolve(this.withReads(machines, view));
  }
  hostEntriesAndReads(_src: NetworkSource, _facts: InfraFacts, machines: string[]) {
    return Promise.resolve(this.withReads(machines, () => ({ host: null, knownHost: null })));
  }
  async systemsAndReads(_src: NetworkSource, _facts: InfraFacts, machines: string[]) {
    this.evaluated.push(...machines);
    await this.during?.();
    const refs: Record<string, SystemRef> = {};
    for (const m of machines) {
      const tag = (await readFile(join(this.dir, `${m}.nix`), 'utf8')).trim();
      refs[m] = { drvPath: `/nix/store/${m}-${tag}.drv`, outPath: `/nix/store/${m}-${tag}` };
    }
    return this.withReads(machines, (m) => refs[m]!);
  }
  private withReads<T>(machines: string[], value: (m: string) => T) {
    return {
      values: Object.fromEntries(machines.map((m) => [m, value(m)])),
      reads: Object.fromEntries(machines.map((m) => [m, this.readsOf(m)])),
    };
  }
}

describe('the evaluation cache, machine by machine, in front of an evaluator that traces reads', () => {
  let dir: string;
  let tracer: FakeTracer;
  let cache: CachingEvaluator;
  let src: NetworkSource;
  const facts: InfraFacts = { machines: {}, resources: {} };
  const systems = async () => {
    tracer.evaluated = [];
    await cache.physical(src);
    await cache.systems(src, facts, ['a', 'b']);
    return [...tracer.evaluated].sort();
  };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'reconix-evalcache-traced-'));
    await writeFile(join(dir, 'network.nix'), '{ }');
    await writeFile(join(dir, 'a.nix'), 'a1');
    await writeFile(join(dir, 'b.nix'), 'b1');
    await mkdir(join(dir, 'lib'));
    tracer = new FakeTracer(dir);
    cache = new CachingEvaluator(tracer, {
      dir: join(dir, 'cache'),
      skip: [join(dir, 'cache')],
      store: { validPaths: (paths) => Promise.resolve(new Set(paths)) },
      log: silentLogger,
      runner: version,
      nixDir: join(dir, 'lib'),
      env: { NIX_PATH: join(dir, 'no-channel') },
    });
    src = { deployment: 'd', files: [join(dir, 'network.nix')], root: dir, args: {}, builder: 'mini' };
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('evaluates again the machine whose read file changed', async () => {
    assert.deepEqual(await systems(), ['a', 'b']);
    await writeFile(join(dir, 'a.nix'), 'a2');
    assert.deepEqual(await systems(), ['a']);
    assert.deepEqual(await systems(), []);
    assert.deepEqual(cache.counts.entries(), [['d', { evaluated: 3, cached: 3 }]]);
  });

  it('always evaluates again a machine whose reads are not known: none named, or a path outside the tree', async () => {
    tracer.reads.a = [];
    tracer.reads.b = [join(dir, 'network.nix'), join(tmpdir(), 'outside-the-tree.nix')];
    await systems();
    await writeFile(join(dir, 'unread'), 'x');
    assert.deepEqual(await systems(), ['a', 'b']);
  });

  it('keeps no reads of an evaluation during which the tree changed: its result may come from either state', async () => {
    tracer.during = async () => {
      tracer.during = undefined;
      await writeFile(join(dir, 'unread'), 'changed meanwhile');
    };
    await systems();
    // Nothing changed since, but what the first evaluation read was not sealed: both are evaluated again, once.
    await writeFile(join(dir, 'unread'), 'changed again');
    assert.deepEqual(await systems(), ['a', 'b']);
    await writeFile(join(dir, 'unread'), 'and again');
    assert.deepEqual(await systems(), []);
  });
});
