// The binary-cache format and its signatures, checked against what Nix 2.8 itself wrote: the vectors below come
// from `nix-store --generate-binary-cache-key test-1` and `nix copy --to 'file://...?compression=none&secret-key=...'`.
import assert from 'node:assert/strict';
import { fingerprint, narinfoKey, narinfoText, narKey, nixHash } from '../../../src/cache/narinfo.js';
import {
  generateSigningKey,
  isPublicKey,
  parseSigningKey,
  signFingerprint,
  verifyFingerprint,
} from '../../../src/cache/signing.js';
import type { StorePathInfo } from '../../../src/core/ports.js';

const SECRET =
  'test-1:4T6j7aQnsmj7VJHt0tg99XZTyfE5+0Xxy1k2GMF4xSgwujl0sf+l6QoddvonaiIGuHI8e0Dcb0dYiW/R6WJToQ==';
const PUBLIC = 'test-1:MLo5dLH/pekKHXb6J2oiBrhyPHtA3G9HWIlv0eliU6E=';

// As `nix path-info --json` prints it (references unsorted here, to show they get sorted).
const TOP: StorePathInfo = {
  path: '/nix/store/cipskzc496isacq6mlkp6fhkdzadx64y-bc-probe-top',
  narHash: 'sha256-i7VNzTv/JU3JEy5Vo4/FGkj+M+E2L4b7BpL6LO6EoRs=',
  narSize: 280,
  references: [
    '/nix/store/pmixzybimhkk79dkbhn95raqwjwizdxp-bc-probe-b',
    '/nix/store/cipskzc496isacq6mlkp6fhkdzadx64y-bc-probe-top',
    '/nix/store/4plppbns4bfm9n1c1pzrb904jfsb66k2-bc-probe',
  ],
  deriver: '/nix/store/qwsypkh5m936sv59rpp4bgxly7nrwvdx-bc-probe-top.drv',
};

const TOP_NARINFO = `StorePath: /nix/store/cipskzc496isacq6mlkp6fhkdzadx64y-bc-probe-top
URL: nar/06x1hkp2rylj0vxqcbrnw4rzwj0sqn7s6m9f2g4ls9gz7g6lvdcb.nar
Compression: none
FileHash: sha256:06x1hkp2rylj0vxqcbrnw4rzwj0sqn7s6m9f2g4ls9gz7g6lvdcb
FileSize: 280
NarHash: sha256:06x1hkp2rylj0vxqcbrnw4rzwj0sqn7s6m9f2g4ls9gz7g6lvdcb
NarSize: 280
References: 4plppbns4bfm9n1c1pzrb904jfsb66k2-bc-probe cipskzc496isacq6mlkp6fhkdzadx64y-bc-probe-top pmixzybimhkk79dkbhn95raqwjwizdxp-bc-probe-b
Deriver: qwsypkh5m936sv59rpp4bgxly7nrwvdx-bc-probe-top.drv
Sig: test-1:sNFnUprOOAcL8leUxB2KafsKV93BsEIRRCDvdw52Q9yIqI0OCJGnbAFKMcVcW6c1Rc6vZciUUV7UQERNyl8BAw==
`;

const LEAF: StorePathInfo = {
  path: '/nix/store/4plppbns4bfm9n1c1pzrb904jfsb66k2-bc-probe',
  narHash: 'sha256-EFUdrtf6Rn0LWIJufrmg8q99aT3jGfLvd1//zaJEufY=',
  narSize: 120,
  references: [],
  deriver: '/nix/store/qbhjkcfwwhwsicxs78w3vrl8361ahfwz-bc-probe.drv',
};
const LEAF_SIG =
  'test-1:ca4ZzS3ooJzS7VL4Sy8SKnfGo96Mk7+UoL9VOtaIOSFYwx82oEMmR5uL3l6nn4qsea4I0pdEGGNT7Q2eLDXaBA==';

describe('the binary-cache format', () => {
  it('writes the narinfo Nix writes, signature included, for a path with references', () => {
    const key = parseSigningKey(SECRET);
    const sig = signFingerprint(key, fingerprint(TOP));
    assert.equal(narinfoText(TOP, [sig]), TOP_NARINFO);
  });

  it('signs a path without references as Nix does, and its narinfo says "References: " with nothing after', () => {
    const key = parseSigningKey(SECRET);
    assert.equal(signFingerprint(key, fingerprint(LEAF)), LEAF_SIG);
    assert.match(
      narinfoText(LEAF, []),
      /\nReferences: \nDeriver: qbhjkcfwwhwsicxs78w3vrl8361ahfwz-bc-probe\.drv\n$/,
    );
  });

  it('names objects by hash part and NAR hash, and reads every hash notation Nix prints', () => {
    assert.equal(narinfoKey(TOP.path), 'cipskzc496isacq6mlkp6fhkdzadx64y.narinfo');
    assert.equal(narKey(TOP), 'nar/06x1hkp2rylj0vxqcbrnw4rzwj0sqn7s6m9f2g4ls9gz7g6lvdcb.nar');
    const base32 = 'sha256:06x1hkp2rylj0vxqcbrnw4rzwj0sqn7s6m9f2g4ls9gz7g6lvdcb';
    assert.equal(nixHash(base32), base32);
    assert.equal(nixHash(TOP.narHash), base32);
  });

  it('puts the full reference paths, sorted and comma-joined, into the fingerprint', () => {
    assert.equal(
      fingerprint(TOP),
      '1;/nix/store/cipskzc496isacq6mlkp6fhkdzadx64y-bc-probe-top;sha256:06x1hkp2rylj0vxqcbrnw4rzwj0sqn7s6m9f2g4ls9gz7g6lvdcb;280;' +
        '/nix/store/4plppbns4bfm9n1c1pzrb904jfsb66k2-bc-probe,/nix/store/cipskzc496isacq6mlkp6fhkdzadx64y-bc-probe-top,/nix/store/pmixzybimhkk79dkbhn95raqwjwizdxp-bc-probe-b',
    );
  });
});

describe('binary-cache signing keys', () => {
  it('derive the public key Nix derived from the same secret key', () => {
    assert.equal(parseSigningKey(SECRET).publicKey, PUBLIC);
    assert.ok(isPublicKey(PUBLIC));
  });

  it('verify their own signatures and refuse another key, another name or another fingerprint', () => {
    const key = generateSigningKey('cache.example-1');
    const fp = fingerprint(TOP);
    const sig = signFingerprint(key, fp);
    assert.ok(verifyFingerprint(key.publicKey, fp, sig));
    assert.equal(verifyFingerprint(PUBLIC, fp, sig), false);
    assert.equal(verifyFingerprint(key.publicKey, fingerprint(LEAF), sig), false);
    assert.equal(verifyFingerprint(key.publicKey, fp, sig.replace('cache.example-1', 'other-1')), false);
    assert.equal(parseSigningKey(key.secret).publicKey, key.publicKey);
  });

  it('refuse a malformed secret key without repeating it', () => {
    for (const bad of [
      'test-1',
      'test-1:AAAA',
      `:${SECRET.split(':')[1]!}`,
      SECRET.replace('4T6j', '4T6k'),
    ]) {
      assert.throws(
        () => parseSigningKey(bad),
        (err: Error) => /binary-cache secret key/.test(err.message) && !err.message.includes(bad),
      );
    }
    assert.throws(() => generateSigningKey('a:b'), /key name/);
  });
});
