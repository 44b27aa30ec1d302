import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { UnsafeArchiveError, untar, untarGz } from '../../../src/util/untar.js';

interface Entry {
  name: string;
  type?: '0' | '2' | '5' | '1' | 'x';
  body?: string;
  link?: string;
}

/** A ustar archive, as tar writes one. */
function tarOf(entries: Entry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const body = Buffer.from(e.body ?? '');
    const h = Buffer.alloc(512);
    h.write(e.name, 0, 100);
    h.write('0000644\0', 100);
    h.write(body.length.toString(8).padStart(11, '0') + '\0', 124);
    h.write(e.type ?? '0', 156);
    h.write(e.link ?? '', 157, 100);
    h.write('ustar\0', 257);
    h.write('00', 263);
    blocks.push(h, body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  return Buffer.concat([...blocks, Buffer.alloc(1024)]);
}

const pax = (records: Record<string, string>) =>
  Object.entries(records)
    .map(([k, v]) => {
      const rest = ` ${k}=${v}\n`;
      let len = rest.length;
      while (`${len}${rest}`.length !== len) len += 1;
      return `${len}${rest}`;
    })
    .join('');

describe('untar (archives from outside the controller)', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'reconix-untar-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const dest = () => join(dir, 'out');

  it('unpacks files, directories, in-tree symlinks and PAX long names', () => {
    const long = `${'d'.repeat(120)}/network.nix`;
    const n = untarGz(
      gzipSync(
        tarOf([
          { name: 'nix/', type: '5' },
          { name: 'nix/network.nix', body: '{ }' },
          { name: 'link.nix', type: '2', link: 'nix/network.nix' },
          { name: 'pax', type: 'x', body: pax({ path: long }) },
          { name: 'ignored', body: 'long' },
        ]),
      ),
      dest(),
    );
    assert.equal(n, 4);
    assert.equal(readFileSync(join(dest(), 'nix/network.nix'), 'utf8'), '{ }');
    assert.equal(readlinkSync(join(dest(), 'link.nix')), 'nix/network.nix');
    assert.equal(readFileSync(join(dest(), long), 'utf8'), 'long');
  });

  const refused: [string, Entry[], RegExp][] = [
    ['an absolute path', [{ name: '/etc/passwd', body: 'x' }], /absolute path/],
    ['a path that goes up', [{ name: 'a/../../x', body: 'x' }], /goes up/],
    ['a symlink out of the root', [{ name: 'l', type: '2', link: '../../etc' }], /outside the archive/],
    ['an absolute symlink', [{ name: 'l', type: '2', link: '/etc' }], /absolute path/],
    [
      'a file written through a symlink',
      [
        { name: 'l', type: '2', link: 'sub' },
        { name: 'l/x', body: 'x' },
      ],
      /through a symlink/,
    ],
    ['a hard link', [{ name: 'h', type: '1', link: 'x' }], /only files, directories and symlinks/],
  ];
  for (const [what, entries, message] of refused) {
    it(`refuses ${what}, writing nothing outside the root`, () => {
      assert.throws(
        () => untar(tarOf(entries), dest()),
        (e: unknown) => {
          assert.ok(e instanceof UnsafeArchiveError);
          assert.match(e.message, message);
          return true;
        },
      );
      assert.equal(existsSync(join(dir, 'x')), false);
    });
  }

  it('stops a gzip bomb at the size bound', () => {
    const bomb = gzipSync(Buffer.alloc(10 * 1024 * 1024));
    assert.throws(
      () => untarGz(bomb, dest(), { maxBytes: 1024 * 1024, maxEntries: 10 }),
      /more than 1048576 bytes/,
    );
  });

  it('stops at the entry bound', () => {
    const many = tarOf(Array.from({ length: 5 }, (_, i) => ({ name: `f${i}`, body: 'x' })));
    assert.throws(() => untar(many, dest(), { maxBytes: 1 << 20, maxEntries: 3 }), /more than 3 entries/);
  });
});
