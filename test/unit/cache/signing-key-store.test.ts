// Where the deployment's binary-cache signing key lives: made once, in the secret store the key pairs' private keys
// use (files under the state dir, or the NixDeployment's Secret in Kubernetes mode), read back from there after.
import assert from 'node:assert/strict';
import { createAwsClients } from '../../../src/providers/aws/clients.js';
import { S3BinaryCaches, signingKeyName } from '../../../src/providers/aws/binary-cache.js';
import type { SecretStore } from '../../../src/providers/aws/secrets.js';

class MemorySecrets implements SecretStore {
  readonly values = new Map<string, string>();
  path = (d: string, k: string) => `memory:${d}/${k}`;
  read = (d: string, k: string) => Promise.resolve(this.values.get(`${d}/${k}`));
  write = (d: string, k: string, v: string) => {
    this.values.set(`${d}/${k}`, v);
    return Promise.resolve();
  };
  remove = (d: string, k: string) => {
    this.values.delete(`${d}/${k}`);
    return Promise.resolve();
  };
}

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
// No call reaches S3 here: opening a cache only reads or makes its key.
const clients = createAwsClients({
  endpoint: 'http://127.0.0.1:9',
  credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
});

describe('the signing key of a binary cache', () => {
  it('is made on first use, kept in the secret store, and the same key on every later open', async () => {
    const secrets = new MemorySecrets();
    const caches = new S3BinaryCaches({ clients, secrets, endpoint: 'http://127.0.0.1:9/' });
    const first = await caches.open('ns/web', { bucket: 'fleet-cache', region: 'us-east-1' });
    assert.deepEqual([...secrets.values.keys()], [`ns/web/${signingKeyName('fleet-cache')}`]);
    assert.match(first.publicKey, /^fleet-cache-1:[A-Za-z0-9+/]{43}=$/);
    assert.equal(first.url, 'http://127.0.0.1:9/fleet-cache');
    const again = await new S3BinaryCaches({ clients, secrets }).open('ns/web', {
      bucket: 'fleet-cache',
      region: 'us-east-1',
    });
    assert.equal(again.publicKey, first.publicKey);
    assert.equal(again.url, 'https://fleet-cache.s3.us-east-1.amazonaws.com');
  });

  it('is one per deployment: another deployment gets a key of its own', async () => {
    const secrets = new MemorySecrets();
    const caches = new S3BinaryCaches({ clients, secrets });
    const a = await caches.open('a', { bucket: 'c', region: 'us-east-1' });
    const b = await caches.open('b', { bucket: 'c', region: 'us-east-1' });
    assert.notEqual(a.publicKey, b.publicKey);
  });

  it('refuses a damaged kept key, naming where it is but not what it holds', async () => {
    const secrets = new MemorySecrets();
    await secrets.write('d', signingKeyName('c'), 'c-1:bm90IGEga2V5');
    await assert.rejects(
      new S3BinaryCaches({ clients, secrets }).open('d', { bucket: 'c', region: 'us-east-1' }),
      (err: Error) =>
        /memory:d\/binary-cache-key:c is damaged/.test(err.message) && !err.message.includes('bm90'),
    );
  });
});
