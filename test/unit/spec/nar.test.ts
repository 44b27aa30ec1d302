import assert from 'node:assert/strict';
import { sha256Base16 } from '../../../src/nixstore/nar.js';

// SHA-256 of the empty string in each notation Nix prints (checked against `nix hash to-base32` / `to-sri`).
const HEX = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const NIX32 = '0mdqa9w1p6cmli6976v4wi0sw9r4p5prkj7lzfd1877wk11c9c73';
const SRI = 'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=';

describe('sha256Base16', () => {
  for (const [name, text] of [
    ['SRI', SRI],
    ['prefixed base 32', `sha256:${NIX32}`],
    ['bare base 32', NIX32],
    ['prefixed base 16', `sha256:${HEX}`],
    ['bare base 16', HEX],
    ['prefixed base 64', `sha256:${SRI.slice(7)}`],
  ] as const) {
    it(`reads ${name}`, () => assert.equal(sha256Base16(text), HEX));
  }

  for (const [name, text] of [
    ['another algorithm', 'md5:d41d8cd98f00b204e9800998ecf8427e'],
    [
      'an SRI hash of another algorithm',
      'sha512-z4PhNX7vuL3xVChQ1m2AB9Yg5AULVxXcg/SpIdNs6c5H0NE8XYXysP+DGNKHfuwvY7kxvUdBeoGlODJ6+SfaPg==',
    ],
    ['a short hash', 'sha256:abc'],
    ['a character outside base 32', NIX32.replace(/.$/, 'e')],
    ['base 32 that overflows 256 bits', `z${NIX32.slice(1)}`],
    ['nothing', ''],
  ] as const) {
    it(`refuses ${name}`, () => assert.throws(() => sha256Base16(text), /not a SHA-256 hash/));
  }
});
