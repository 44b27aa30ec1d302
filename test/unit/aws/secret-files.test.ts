import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { FileSecretStore } from '../../../src/providers/aws/secrets.js';

describe('secret files left by a killed process', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'reconix-secrets-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('are removed by the next write of the same secret, and by its removal', async () => {
    const store = new FileSecretStore(dir);
    await store.write('d', 'host-key.web', 'first');
    const file = store.path('d', 'host-key.web');
    // GIVEN a temporary copy a killed process never renamed
    await writeFile(`${file}.tmp-999999`, 'partial');
    await store.write('d', 'host-key.web', 'second');
    assert.deepEqual(await readdir(dirname(file)), [file.split('/').pop()]);
    await writeFile(`${file}.tmp-999998`, 'partial');
    await store.remove('d', 'host-key.web');
    assert.deepEqual(await readdir(dirname(file)), []);
    assert.equal(await store.read('d', 'host-key.web'), undefined);
  });
});
