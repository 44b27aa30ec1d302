import assert from 'node:assert/strict';
import {
  blobType,
  fingerprint,
  formatPublicKey,
  hostKeyAlgorithms,
  parsePublicKey,
} from '../../../src/ssh/host-key.js';

// Fingerprints as `ssh-keygen -lf` printed them for these keys.
const ED25519 = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGNtkUZqHr8MYmeLDvLS6qmjWw6MnMUQKJwbi9XZ0Il3 fixture';
const ED25519_FP = 'SHA256:2uMO6XfGO2U/8+3iNlPw/HVk+A4kX6GBwVmIC8p2k7g';
const RSA =
  'ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQDZUyjSqMvKa512cmhW9Zn/iUhiu60mnijvsg79U+bg6ynR/slSpfvxc5ulNRlFZV8J6j1DfO5I+OqLMD7eNJPiyRebjpZ04Oio71PlblrqSwLtt3zuqXH7IW3Dw8JvbmD+ED8E4zQmOQUuCY6yeT97YDSmt/sj0SutpRw55jFKaQ==';
const RSA_FP = 'SHA256:hupwInmIfJ376X3nUVd87wfEWTj0U28RzTLgB1xjRo8';

describe('host keys', function () {
  it('fingerprints a key line the way ssh-keygen -l does', function () {
    assert.equal(fingerprint(ED25519), ED25519_FP);
    assert.equal(fingerprint(RSA), RSA_FP);
  });

  it('fingerprints a raw key blob like its key line', function () {
    assert.equal(fingerprint(parsePublicKey(ED25519).blob), ED25519_FP);
  });

  it('drops the comment and keeps type and data when formatting a blob', function () {
    assert.equal(formatPublicKey(parsePublicKey(ED25519).blob), ED25519.replace(/ fixture$/, ''));
  });

  it('reads the key type from inside the blob', function () {
    assert.equal(blobType(parsePublicKey(RSA).blob), 'ssh-rsa');
    assert.equal(blobType(Buffer.from([0, 0, 0, 9, 1])), undefined);
  });

  for (const [what, line] of [
    ['an empty string', ''],
    ['a type without data', 'ssh-ed25519'],
    ['data that is not base64', 'ssh-ed25519 not*base64'],
    ['a type that the data contradicts', ED25519.replace('ssh-ed25519', 'ssh-rsa')],
  ] as const) {
    it(`refuses ${what} as a key`, function () {
      assert.throws(() => parsePublicKey(line), /SSH public key/);
    });
  }

  it('asks the server for the pinned key type, and for RSA accepts its SHA-2 signatures', function () {
    assert.deepEqual(hostKeyAlgorithms('ssh-ed25519'), ['ssh-ed25519']);
    assert.deepEqual(hostKeyAlgorithms('ssh-rsa'), ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']);
    assert.equal(hostKeyAlgorithms('sk-ssh-ed25519@openssh.com'), undefined);
    assert.equal(hostKeyAlgorithms('constructor'), undefined);
  });
});
