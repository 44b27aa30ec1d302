import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hmacSecret, hmacSecretFile } from '../../../src/keys/digest.js';

describe("a deployment's HMAC secret", () => {
  let dir: string;
  beforeEach(async () => (dir = await mkdtemp(join(tmpdir(), 'reconix-hmac-'))));
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('is made once when many machines ask for it at the same time, mode 0600, with no temporary file left', async () => {
    // Staggered, so that some writers finish (and clean up) while others are half-way.
    const secrets = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        new Promise<void>((r) => setTimeout(r, i % 5)).then(() => hmacSecret(dir, 'web')),
      ),
    );
    assert.equal(secrets[0]!.length, 32);
    for (const s of secrets) assert.ok(s.equals(secrets[0]!));
    assert.equal((await stat(hmacSecretFile(dir, 'web'))).mode & 0o777, 0o600);
    assert.deepEqual(await readdir(join(dir, 'secrets')), ['web.keys-hmac']);
  });
});
