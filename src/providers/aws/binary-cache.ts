// Binary caches in the deployment's S3 buckets: the controller uploads each missing path once, signed with the
// deployment's key, and hosts substitute from the bucket over HTTP. The secret key is kept where key pairs'
// private keys are (files under the state dir, or the NixDeployment's Secret), never in the state or a log.
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import { s3Sdk } from './sdk.js';
import pLimit from 'p-limit';
import { Reason } from '../../api/conditions.js';
import { fingerprint, NIX_CACHE_INFO, narinfoKey, narinfoText, narKey } from '../../cache/narinfo.js';
import {
  generateSigningKey,
  parseSigningKey,
  signFingerprint,
  type SigningKey,
} from '../../cache/signing.js';
import { ReconixError } from '../../core/errors.js';
import type { BinaryCache, BinaryCaches, CacheBucket, NarSource, StorePathInfo } from '../../core/ports.js';
import { sha256Base16 } from '../../nixstore/nar.js';
import type { AwsClients } from './clients.js';
import { aws, hasCode, httpStatus } from './errors.js';
import type { SecretStore } from './secrets.js';

const { DeleteObjectCommand, HeadObjectCommand, PutObjectCommand } = s3Sdk;

export interface S3BinaryCachesOptions {
  clients: AwsClients;
  secrets: SecretStore;
  /** The S3 endpoint the clients use when it is not AWS's (moto): hosts then read `<endpoint>/<bucket>`. */
  endpoint?: string;
  /** Uploads at once per cache. */
  concurrency?: number;
}

/** The name a deployment's signing key for a bucket is kept under in the secret store. */
export const signingKeyName = (bucket: string): string => `binary-cache-key:${bucket}`;

export class S3BinaryCaches implements BinaryCaches {
  constructor(private readonly opts: S3BinaryCachesOptions) {}

  async open(deployment: string, where: CacheBucket): Promise<BinaryCache> {
    const key = await this.signingKey(deployment, where.bucket);
    const url = where.url ?? this.httpUrl(where);
    return new S3BinaryCache(
      this.opts.clients.s3(where.region),
      where.bucket,
      key,
      url,
      this.opts.concurrency ?? 4,
    );
  }

  /** The deployment's key for this bucket, made on first use. */
  private async signingKey(deployment: string, bucket: string): Promise<SigningKey> {
    const id = signingKeyName(bucket);
    const kept = await this.opts.secrets.read(deployment, id);
    if (kept !== undefined) {
      try {
        return parseSigningKey(kept);
      } catch (err) {
        throw new ReconixError(
          Reason.CopyFailed,
          `the signing key of binary cache ${bucket} at ${this.opts.secrets.path(deployment, id)} is damaged: ${(err as Error).message}`,
          { reaction: 'stall' },
        );
      }
    }
    const made = generateSigningKey(`${bucket.replace(/[^A-Za-z0-9._-]/g, '-')}-1`);
    await this.opts.secrets.write(deployment, id, `${made.secret}\n`);
    return made;
  }

  private httpUrl(where: CacheBucket): string {
    const endpoint = this.opts.endpoint?.replace(/\/+$/, '');
    if (endpoint) return `${endpoint}/${encodeURIComponent(where.bucket)}`;
    return `https://${where.bucket}.s3.${where.region}.amazonaws.com`;
  }
}

class S3BinaryCache implements BinaryCache {
  readonly publicKey: string;
  private readonly uploads = new Map<string, Promise<number>>();
  private info: Promise<void> | undefined;
  private readonly limit;

  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
    private readonly key: SigningKey,
    readonly url: string,
    concurrency: number,
  ) {
    this.publicKey = key.publicKey;
    this.limit = pLimit(Math.max(1, concurrency));
  }

  async upload(
    paths: readonly StorePathInfo[],
    source: NarSource,
    sent?: (bytes: number, total: number) => void,
  ): Promise<{ paths: number; bytes: number }> {
    this.info ??= this.ensureCacheInfo();
    await this.info;
    const total = paths.reduce((sum, p) => sum + p.narSize, 0);
    let bytes = 0;
    let uploaded = 0;
    sent?.(0, total);
    const count = (n: number) => {
      bytes += n;
      sent?.(bytes, total);
    };
    // The first machine to ask for a path uploads it; the others wait for that upload.
    const mine: Promise<number>[] = [];
    const waits: Promise<number>[] = [];
    for (const p of paths) {
      const running = this.uploads.get(p.path);
      if (running) {
        waits.push(running);
        continue;
      }
      const started = this.limit(() => this.uploadPath(p, source, count));
      this.uploads.set(p.path, started);
      mine.push(started.then((n) => (n > 0 ? (uploaded++, n) : n)));
    }
    await Promise.all([...mine, ...waits]);
    return { paths: uploaded, bytes };
  }

  private async ensureCacheInfo(): Promise<void> {
    if (await this.exists('nix-cache-info')) return;
    await this.put('nix-cache-info', Buffer.from(NIX_CACHE_INFO), 'text/x-nix-cache-info');
  }

  /** The path's NAR, then its narinfo (so that a narinfo always has its NAR); 0 when it was there already. */
  private async uploadPath(p: StorePathInfo, source: NarSource, count: (n: number) => void): Promise<number> {
    const info = narinfoKey(p.path);
    if (await this.exists(info)) return 0;
    const nar = narKey(p);
    const hash = createHash('sha256');
    let size = 0;
    const body = Readable.from(
      (async function* () {
        for await (const chunk of source.nar(p.path)) {
          // The store lends its chunks; the upload may still hold one when the next ones are read.
          const own = Buffer.from(chunk);
          hash.update(own);
          size += own.length;
          count(own.length);
          yield own;
        }
      })(),
    );
    await aws(`uploading ${p.path} to binary cache ${this.bucket}`, () =>
      this.s3.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: nar,
          Body: body,
          ContentLength: p.narSize,
          ContentType: 'application/x-nix-nar',
        }),
      ),
    );
    if (size !== p.narSize || hash.digest('hex') !== sha256Base16(p.narHash)) {
      await this.s3.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: nar })).catch(() => undefined);
      throw new ReconixError(
        Reason.CopyFailed,
        `${p.path} read from the local store does not match its recorded hash (it changed on disk?); not uploaded`,
      );
    }
    const sig = signFingerprint(this.key, fingerprint(p));
    await this.put(info, Buffer.from(narinfoText(p, [sig])), 'text/x-nix-narinfo');
    return size;
  }

  private async exists(key: string): Promise<boolean> {
    try {
      await this.s3.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return true;
    } catch (err) {
      if (httpStatus(err) === 404 || hasCode(err, 'NotFound', 'NoSuchKey')) return false;
      throw new ReconixError(
        Reason.CopyFailed,
        `binary cache ${this.bucket}: cannot look for ${key}: ${(err as Error).message}`,
        { cause: err },
      );
    }
  }

  private async put(key: string, body: Buffer, type: string): Promise<void> {
    await aws(`writing ${key} to binary cache ${this.bucket}`, () =>
      this.s3.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentType: type })),
    );
  }
}
