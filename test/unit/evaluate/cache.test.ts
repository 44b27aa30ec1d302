// The evaluation cache in front of an evaluator: what it answers itself, what it asks again, what it keeps.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { InfraFacts, KeySpec, PhysicalView, SystemRef } from '../../../src/core/model.js';
import type { Evaluator, NetworkSource } from '../../../src/core/ports.js';
import { CACHE_ENTRIES, CachingEvaluator } from '../../../src/evaluate/cache.js';
import { NixEvaluator } from '../../../src/evaluate/evaluator.js';
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
