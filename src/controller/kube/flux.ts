// Network files from a Flux source: the GitRepository or OCIRepository that spec.sourceRef names, read from the API
// server; its artifact (status.artifact) fetched from source-controller with a size bound and a deadline, checked
// against its digest and unpacked safely into a directory of the controller's own, one per deployment.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Reason } from '../../api/conditions.js';
import type { SourceRef } from '../../api/deployment.js';
import { ReconixError } from '../../core/errors.js';
import { kubeMessage } from '../../kube/errors.js';
import { DEFAULT_UNTAR_LIMITS, untarGz, type UntarLimits } from '../../util/untar.js';

export const FLUX_GROUP = 'source.toolkit.fluxcd.io';

/** The API version and plural of each source kind Reconix reads (source-controller 1.9 serves both as v1 only). */
export const FLUX_KINDS = {
  GitRepository: { version: 'v1', plural: 'gitrepositories' },
  OCIRepository: { version: 'v1', plural: 'ocirepositories' },
} as const;
export type FluxKind = keyof typeof FLUX_KINDS;

export interface FluxArtifact {
  url: string;
  revision: string;
  digest: string;
  size?: number;
}

export interface FluxSourceObject {
  metadata: { name: string; namespace: string; resourceVersion?: string };
  status?: {
    artifact?: Partial<FluxArtifact>;
    conditions?: { type: string; status: string; message?: string }[];
  };
}

/** CustomObjectsApi, as far as reading one source needs it. */
export interface FluxSourceApi {
  getNamespacedCustomObject(p: {
    group: string;
    version: string;
    plural: string;
    namespace: string;
    name: string;
  }): Promise<unknown>;
}

export interface FetchedSource {
  /** The unpacked artifact: spec.network.files are relative to it. */
  root: string;
  kind: FluxKind;
  name: string;
  namespace: string;
  revision: string;
  digest: string;
}

export interface FluxFetcherOptions {
  api: FluxSourceApi;
  /** Where artifacts are unpacked, a directory per deployment. */
  dir: string;
  /** Let a NixDeployment name a source in another namespace. */
  allowCrossNamespace?: boolean;
  maxArtifactBytes?: number;
  fetchTimeoutMs?: number;
  untarLimits?: UntarLimits;
}

const DEFAULT_MAX_ARTIFACT = 64 * 1024 * 1024;
const DEFAULT_FETCH_TIMEOUT_MS = 60_000;

const notReady = (message: string, cause?: unknown) =>
  new ReconixError(Reason.SourceNotReady, message, { cause, reaction: 'retry' });
const fetchFailed = (message: string, cause?: unknown) =>
  new ReconixError(Reason.ArtifactFetchFailed, message, { cause, reaction: 'retry' });

/** The namespace a reference points into, refusing another one unless the controller allows it. */
export function sourceNamespace(ref: SourceRef, own: string, allowCrossNamespace: boolean): string {
  const ns = ref.namespace ?? own;
  if (ns !== own && !allowCrossNamespace) {
    throw new ReconixError(
      Reason.InvalidManifest,
      `spec.sourceRef names ${ref.kind} ${ns}/${ref.name} in another namespace, which this controller refuses ` +
        '(start it with --allow-cross-namespace-sources to allow it)',
      { reaction: 'stall' },
    );
  }
  return ns;
}

export class FluxFetcher {
  constructor(private readonly opts: FluxFetcherOptions) {}

  /** The artifact the source offers now, or SourceNotReady saying why there is none. */
  async artifactOf(ref: SourceRef, namespace: string): Promise<FluxArtifact> {
    const { version, plural } = FLUX_KINDS[ref.kind];
    const what = `${ref.kind} ${namespace}/${ref.name}`;
    let obj: FluxSourceObject;
    try {
      obj = (await this.opts.api.getNamespacedCustomObject({
        group: FLUX_GROUP,
        version,
        plural,
        namespace,
        name: ref.name,
      })) as FluxSourceObject;
    } catch (err) {
      const code = (err as { code?: number }).code;
      if (code === 404) throw notReady(`${what} not found`, err);
      throw notReady(`cannot read ${what}: ${kubeMessage(err)}`, err);
    }
    const a = obj.status?.artifact;
    if (!a?.url || !a.revision || !a.digest) {
      const ready = obj.status?.conditions?.find((c) => c.type === 'Ready');
      const why = ready?.message ? `: ${ready.message}` : '';
      throw notReady(`${what} has no artifact yet${why}`);
    }
    return { url: a.url, revision: a.revision, digest: a.digest, ...(a.size ? { size: a.size } : {}) };
  }

  /** Fetch, check and unpack the artifact of `ref` for deployment `id`; an artifact unpacked before is reused. */
  async fetch(id: string, ref: SourceRef, ownNamespace: string): Promise<FetchedSource> {
    const namespace = sourceNamespace(ref, ownNamespace, this.opts.allowCrossNamespace === true);
    const artifact = await this.artifactOf(ref, namespace);
    const hex = expectedSha256(artifact);
    const base = join(this.opts.dir, id);
    const root = join(base, hex);
    if (!existsSync(root)) {
      const data = await this.download(artifact);
      const got = createHash('sha256').update(data).digest('hex');
      if (got !== hex) {
        throw new ReconixError(
          Reason.ArtifactDigestMismatch,
          `the artifact of ${ref.kind} ${namespace}/${ref.name} at ${artifact.revision} has digest sha256:${got}, ` +
            `not ${artifact.digest} as the source says`,
          { reaction: 'retry' },
        );
      }
      await mkdir(base, { recursive: true, mode: 0o700 });
      const tmp = `${root}.tmp-${process.pid}-${Date.now()}`;
      try {
        untarGz(data, tmp, this.opts.untarLimits ?? DEFAULT_UNTAR_LIMITS);
        await rename(tmp, root);
      } catch (err) {
        await rm(tmp, { recursive: true, force: true });
        throw fetchFailed(
          `cannot unpack the artifact of ${ref.kind} ${namespace}/${ref.name}: ${(err as Error).message}`,
          err,
        );
      }
    }
    // Only the artifact in use is kept.
    for (const old of await readdir(base)) {
      if (old !== hex) await rm(join(base, old), { recursive: true, force: true });
    }
    return {
      root,
      kind: ref.kind,
      name: ref.name,
      namespace,
      revision: artifact.revision,
      digest: artifact.digest,
    };
  }

  /** Remove what was unpacked for deployment `id` (it is gone). */
  async forget(id: string): Promise<void> {
    await rm(join(this.opts.dir, id), { recursive: true, force: true });
  }

  private async download(artifact: FluxArtifact): Promise<Buffer> {
    const max = this.opts.maxArtifactBytes ?? DEFAULT_MAX_ARTIFACT;
    const url = artifact.url;
    if (!/^https?:\/\//.test(url)) throw fetchFailed(`the artifact URL ${url} is not http(s)`);
    if (artifact.size !== undefined && artifact.size > max) {
      throw fetchFailed(`the artifact at ${url} is ${artifact.size} bytes, more than the ${max} allowed`);
    }
    let res: Response;
    try {
      res = await fetch(url, {
        signal: AbortSignal.timeout(this.opts.fetchTimeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS),
        redirect: 'error',
      });
    } catch (err) {
      throw fetchFailed(`cannot fetch the artifact at ${url}: ${(err as Error).message}`, err);
    }
    if (!res.ok || !res.body) {
      await res.body?.cancel();
      throw fetchFailed(`fetching the artifact at ${url} answered ${res.status} ${res.statusText}`);
    }
    const chunks: Buffer[] = [];
    let total = 0;
    try {
      for await (const chunk of res.body) {
        total += (chunk as Uint8Array).length;
        if (total > max) throw fetchFailed(`the artifact at ${url} is larger than the ${max} bytes allowed`);
        chunks.push(Buffer.from(chunk as Uint8Array));
      }
    } catch (err) {
      if (err instanceof ReconixError) throw err;
      throw fetchFailed(`fetching the artifact at ${url} failed: ${(err as Error).message}`, err);
    }
    return Buffer.concat(chunks);
  }
}

function expectedSha256(artifact: FluxArtifact): string {
  const m = /^sha256:([0-9a-f]{64})$/.exec(artifact.digest);
  if (!m?.[1]) {
    throw new ReconixError(
      Reason.ArtifactDigestMismatch,
      `the artifact digest ${JSON.stringify(artifact.digest)} is not sha256:<64 hex digits>`,
      { reaction: 'retry' },
    );
  }
  return m[1];
}
