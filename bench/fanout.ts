// Benchmark: one closure to many hosts, pushed over SSH (copy mode "push") against uploaded once to a binary cache
// in S3 (moto) and substituted by every host over HTTP (copy mode "cache"), side by side, each side on fresh
// hosts with empty stores. Reports wall time and the bytes the controller sent: over SSH, or to the bucket.
// Options: --hosts N (default 50), --shape fan|sys|base (fan: about 200 MB), --parallel N (default 10),
// --prefix A.B (the hosts' loopback addresses, default 127.79, the benchmarks' own).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, PutBucketPolicyCommand } from '@aws-sdk/client-s3';
import pLimit from 'p-limit';
import { copyClosure } from '../src/apply/hosts.js';
import type { HostSession } from '../src/core/ports.js';
import { NixLocalStore } from '../src/nixstore/store.js';
import { S3BinaryCaches } from '../src/providers/aws/binary-cache.js';
import { FileSecretStore } from '../src/providers/aws/secrets.js';
import { SshHostConnector } from '../src/ssh/index.js';
import { MOTO_ENV, startMoto } from '../test/support/moto.js';
import { BASE_CLOSURE, buildClosure, SYSTEM_CLOSURE, type ClosureShape } from './support/closure.js';
import { BenchHosts, type BenchHost } from './support/hosts.js';
import { intOption, megabytes, option, seconds, timed } from './support/stats.js';

const FAN_CLOSURE: ClosureShape = { name: 'fan', seed: 3, large: 11, medium: 40, small: 100 };
const SHAPES: Record<string, ClosureShape> = { fan: FAN_CLOSURE, sys: SYSTEM_CLOSURE, base: BASE_CLOSURE };
const BUCKET = 'reconix-bench-fanout';

const connector = new SshHostConnector();
const store = new NixLocalStore();

async function side(
  hosts: BenchHosts,
  count: number,
  parallel: number,
  label: string,
  copy: (s: HostSession) => Promise<number>,
): Promise<{ ms: number; bytes: number }> {
  const made: BenchHost[] = [];
  for (let i = 0; i < count; i++) made.push(await hosts.host(`${label}-${i}`));
  const limit = pLimit(parallel);
  let bytes = 0;
  const run = await timed(() =>
    Promise.all(
      made.map((h) =>
        limit(async () => {
          const s = await connector.connect(
            h.endpoint,
            { privateKey: hosts.key.privateKey },
            { pinned: h.hostKey },
          );
          try {
            const sent = await copy(s); // not `bytes += await`: that adds to a stale total
            bytes += sent;
            if ((await s.missingPaths([closureTop])).length > 0)
              throw new Error(`${h.name} lacks the closure`);
          } finally {
            s.close();
          }
        }),
      ),
    ),
  );
  await hosts.destroyAll();
  return { ms: run.ms, bytes };
}

let closureTop = '';

async function main(): Promise<void> {
  const count = intOption('hosts', 50);
  const parallel = intOption('parallel', 10);
  const shape = SHAPES[option('shape', 'fan')];
  if (!shape) throw new Error('--shape is fan, sys or base');
  Object.assign(process.env, MOTO_ENV);
  const closure = await buildClosure(shape);
  closureTop = closure.top;
  const infos = (await store.closures([closure.top])).get(closure.top)!;
  const dir = await mkdtemp(join(tmpdir(), 'reconix-bench-fanout-'));
  const moto = await startMoto();
  try {
    const clients = moto.clients();
    await clients.s3('us-east-1').send(new CreateBucketCommand({ Bucket: BUCKET }));
    const policy = {
      Effect: 'Allow',
      Principal: '*',
      Action: 's3:GetObject',
      Resource: `arn:aws:s3:::${BUCKET}/*`,
    };
    await clients.s3('us-east-1').send(
      new PutBucketPolicyCommand({
        Bucket: BUCKET,
        Policy: JSON.stringify({ Version: '2012-10-17', Statement: [policy] }),
      }),
    );
    const caches = new S3BinaryCaches({
      clients,
      secrets: new FileSecretStore(join(dir, 'secrets')),
      endpoint: moto.endpoint,
    });
    const cache = await caches.open('bench', { bucket: BUCKET, region: 'us-east-1' });
    const hosts = await BenchHosts.create(dir, 'bench-fanout', option('prefix', '127.79'));
    try {
      const push = await side(
        hosts,
        count,
        parallel,
        'push',
        async (s) => (await copyClosure(s, store, closure.top, infos)).bytes,
      );
      const viaCache = await side(hosts, count, parallel, 'cache', async (s) => {
        const missing = new Set(await s.missingPaths(infos.map((p) => p.path)));
        const up = await cache.upload(
          infos.filter((p) => missing.has(p.path)),
          store,
        );
        await s.substitute!([closure.top], { url: cache.url, publicKey: cache.publicKey });
        return up.bytes;
      });
      const rows = [
        ['push', seconds(push.ms), megabytes(push.bytes)],
        ['cache', seconds(viaCache.ms), megabytes(viaCache.bytes)],
      ];
      console.log(
        `closure ${megabytes(closure.narBytes)} (${infos.length} paths) to ${count} hosts, ${parallel} at once`,
      );
      for (const r of rows) console.log(r.join('\t'));
      console.log(
        `ratios (push / cache): wall ${(push.ms / viaCache.ms).toFixed(2)}x, controller bytes ${(push.bytes / Math.max(1, viaCache.bytes)).toFixed(1)}x`,
      );
    } finally {
      await hosts.destroyAll();
    }
  } finally {
    await moto.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
