import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MarkerFileAllocator } from '../../../src/providers/local/addresses.js';

describe('loopback addresses for local hosts', function () {
  let dir: string;
  // Port 0: the "is anything listening" probe always succeeds, so only the markers decide.
  const allocator = () => new MarkerFileAllocator(dir, '127.81', 0);

  beforeEach(async function () {
    dir = await mkdtemp(join(tmpdir(), 'reconix-addresses-'));
  });
  afterEach(async function () {
    await rm(dir, { recursive: true, force: true });
  });

  it('hands out distinct addresses to hosts claiming at the same time', async function () {
    const owners = Array.from({ length: 20 }, (_, i) => `/hosts/h-${i}`);
    const got = await Promise.all(owners.map((o, i) => (i % 2 ? allocator() : allocator()).claim(o)));
    assert.equal(new Set(got).size, owners.length);
    for (const a of got) assert.match(a, /^127\.81\.0\.\d+$/);
  });

  it('hands a fleet claiming at once through one allocator the first addresses, one each', async function () {
    const a = allocator();
    const owners = Array.from({ length: 300 }, (_, i) => `/hosts/h-${i}`);
    const got = await Promise.all(owners.map((o) => a.claim(o)));
    assert.equal(new Set(got).size, owners.length);
    const last = (x: string) => Number(x.split('.')[3]) + 254 * Number(x.split('.')[2]);
    assert.equal(Math.max(...got.map(last)), 300, 'no address skipped');
    assert.equal((await readdir(dir)).length, 300);
    for (const [i, address] of got.entries()) assert.equal(await a.holds(address, owners[i]!), true);
  });

  it('gives an address back only for its owner', async function () {
    const a = allocator();
    const address = await a.claim('/hosts/one');
    assert.equal(await a.holds(address, '/hosts/one'), true);
    await a.release(address, '/hosts/other');
    assert.equal(await a.holds(address, '/hosts/one'), true);
    await a.release(address, '/hosts/one');
    assert.deepEqual(await readdir(dir), []);
    assert.equal(await a.claim('/hosts/two'), address);
  });

  it('does not claim to hold addresses outside its prefix', async function () {
    assert.equal(await allocator().holds('../../etc/passwd', '/hosts/one'), false);
    assert.equal(await allocator().holds('127.80.0.1', '/hosts/one'), false);
  });
});
