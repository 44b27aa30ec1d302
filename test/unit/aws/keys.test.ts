import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateEd25519, publicKeyOf } from '../../../src/providers/aws/keys.js';
import { hostKeyFromUserData, hostKeyUserData } from '../../../src/providers/aws/instances/record.js';
import { run } from '../../../src/util/exec.js';

describe('Ed25519 keys made without ssh-keygen', () => {
  it('are read by ssh-keygen, which derives the same public key', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'reconix-keys-'));
    try {
      const pair = generateEd25519('test comment');
      await writeFile(join(dir, 'k'), pair.privateKey, { mode: 0o600 });
      const r = await run('ssh-keygen', ['-y', '-f', join(dir, 'k')]);
      assert.equal(r.stdout.trim().split(' ').slice(0, 2).join(' '), pair.publicKey);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('give back their public half from the private key', () => {
    const pair = generateEd25519();
    assert.match(pair.publicKey, /^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI[A-Za-z0-9+/]{43}$/);
    assert.equal(publicKeyOf(pair.privateKey), pair.publicKey);
    assert.notEqual(generateEd25519().publicKey, pair.publicKey);
  });

  it('travel in user data as NixOps writes it, newlines as "|", and the public half comes back out', () => {
    const pair = generateEd25519();
    const ud = hostKeyUserData(pair.publicKey, pair.privateKey);
    const [pubLine, privLine] = ud.split('\n');
    assert.equal(pubLine, `SSH_HOST_ED25519_KEY_PUB:${pair.publicKey}`);
    assert.equal(
      privLine?.replace(/^SSH_HOST_ED25519_KEY:/, '').replace(/\|/g, '\n'),
      pair.privateKey.trim(),
    );
    assert.equal(hostKeyFromUserData(ud), pair.publicKey);
    assert.equal(hostKeyFromUserData('#!/bin/sh\n'), undefined);
  });
});
