import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { WireReader, wireNumber, wireString, wireStrings } from '../../../src/ssh/serve-wire.js';

describe("Nix's serve protocol wire format", function () {
  it('writes numbers as 64-bit little-endian', function () {
    assert.deepEqual([...wireNumber(0x390c9deb)], [0xeb, 0x9d, 0x0c, 0x39, 0, 0, 0, 0]);
  });

  it('pads strings with zeros to a multiple of eight bytes', function () {
    assert.equal(wireString('').length, 8);
    assert.equal(wireString('abc').length, 16);
    assert.equal(wireString('abcdefgh').length, 16);
    assert.deepEqual([...wireString('abc').subarray(8)], [0x61, 0x62, 0x63, 0, 0, 0, 0, 0]);
  });

  it('reads back what it writes, however the bytes are split', async function () {
    const stream = new PassThrough();
    const reader = new WireReader(stream);
    const bytes = Buffer.concat([wireNumber(7), wireStrings(['/nix/store/a', 'b']), wireString('end')]);
    const done = (async () => [await reader.number(), await reader.strings(), await reader.string()])();
    for (let i = 0; i < bytes.length; i += 3) stream.write(bytes.subarray(i, i + 3));
    assert.deepEqual(await done, [7, ['/nix/store/a', 'b'], 'end']);
  });

  it('fails a read that the end of the stream cuts short', async function () {
    const stream = new PassThrough();
    const reader = new WireReader(stream, 'nix-store --serve exited');
    stream.end(Buffer.from([1, 2, 3]));
    await assert.rejects(reader.number(), /nix-store --serve exited/);
  });

  it('refuses a string longer than any reply of the protocol', async function () {
    const stream = new PassThrough();
    const reader = new WireReader(stream);
    stream.write(wireNumber(1 << 30));
    await assert.rejects(reader.string(), /protocol error/);
  });
});
