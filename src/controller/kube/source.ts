// Where a NixDeployment's network files come from in Kubernetes mode: inline in the object, or from the controller's
// source root (a volume that a git-sync sidecar keeps current by swapping a symlink). The root is re-resolved on
// every reconcile and polled, so that a new commit reconciles the deployments that read files from it.
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { Reason } from '../../api/conditions.js';
import { ReconixError } from '../../core/errors.js';
import type { NetworkSource } from '../../core/ports.js';
import { resolveNetworkSource } from '../../source/source.js';
import type { Logger } from '../../core/ports.js';
import { keyOf, manifestOf, type NixDeploymentObject } from '../../kube/object.js';
import type { FetchedSource, FluxFetcher } from './flux.js';

export interface ResolvedSource {
  source: NetworkSource;
  /** The git commit of the source root, the Flux artifact's revision, or a hash of the network's inputs. */
  revision: string;
  /** The Flux source artifact the files came from, when spec.sourceRef names one. */
  flux?: FetchedSource;
}

export interface SourceResolverOptions {
  /** The directory (or git-sync link) that spec.network.files are relative to. */
  sourceRoot?: string;
  /** Where inline network files are written. */
  scratchDir: string;
  /** The commit a tree is checked out at, if it is a git checkout. */
  revisionOf?: (root: string) => Promise<string | undefined>;
  /** Fetches the artifacts of Flux sources (spec.sourceRef); none: such deployments fail. */
  flux?: FluxFetcher;
}

const usesInline = (obj: NixDeploymentObject): boolean =>
  Object.keys(obj.spec.network.inline ?? {}).length > 0;

export class SourceResolver {
  /** The tree each deployment last read its files from. */
  private readonly used = new Map<string, string>();

  constructor(private readonly opts: SourceResolverOptions) {}

  /** Whether the deployment last read its files from another tree than `root`. */
  isStale(obj: NixDeploymentObject, root: string): boolean {
    if (usesInline(obj) || obj.spec.sourceRef) return false;
    const used = this.used.get(keyOf(obj));
    return used !== undefined && used !== root;
  }

  async resolve(obj: NixDeploymentObject): Promise<ResolvedSource> {
    const manifest = manifestOf(obj);
    if (obj.spec.sourceRef) return this.resolveFlux(obj);
    if (usesInline(obj)) {
      const source = resolveNetworkSource(manifest, this.opts.scratchDir, this.opts.scratchDir);
      return { source, revision: await contentRevision(source) };
    }
    if (!this.opts.sourceRoot) {
      throw new ReconixError(
        Reason.InvalidManifest,
        "spec.network.files are read from the controller's source root, and this controller has none: " +
          'start it with --source-root, or put the files in spec.network.inline',
        { reaction: 'stall' },
      );
    }
    const root = await this.currentRoot();
    // Recorded before anything can fail, so that a broken tree is not retried on every poll.
    this.used.set(keyOf(obj), root);
    const source = resolveNetworkSource(manifest, root, this.opts.scratchDir);
    const commit = await this.opts.revisionOf?.(root);
    return { source, revision: commit ? `git:${commit}` : await contentRevision(source) };
  }

  private async resolveFlux(obj: NixDeploymentObject): Promise<ResolvedSource> {
    const ref = obj.spec.sourceRef;
    if (!ref) throw new Error('no sourceRef');
    if (usesInline(obj)) {
      throw new ReconixError(
        Reason.InvalidManifest,
        'spec.sourceRef and spec.network.inline exclude each other: the files come from one or the other',
        { reaction: 'stall' },
      );
    }
    if (!this.opts.flux) {
      throw new ReconixError(Reason.SourceNotReady, 'this controller does not read Flux sources', {
        reaction: 'stall',
      });
    }
    const flux = await this.opts.flux.fetch(keyOf(obj), ref, obj.metadata.namespace);
    const source = resolveNetworkSource(manifestOf(obj), flux.root, this.opts.scratchDir);
    return { source, revision: flux.revision, flux };
  }

  /** Forget a deployment that is gone, with the artifact unpacked for it. */
  async forget(obj: NixDeploymentObject): Promise<void> {
    this.used.delete(keyOf(obj));
    await this.opts.flux?.forget(keyOf(obj));
  }

  /** The tree the source root points at now. */
  async currentRoot(): Promise<string> {
    const dir = this.opts.sourceRoot;
    if (!dir) throw new Error('no source root');
    try {
      return await fs.realpath(dir);
    } catch (err) {
      throw new ReconixError(
        Reason.InvalidManifest,
        `the source root ${dir} is not there (yet): ${(err as Error).message}`,
        { cause: err },
      );
    }
  }

  /**
   * Call `onTree` with the tree the source root points at, every `everyMs`: the caller reconciles the deployments
   * for which isStale() says the tree changed (git-sync swapped the link). Polls the link itself, since watching
   * through it would keep watching the old tree. Returns a function that stops polling.
   */
  watch(onTree: (root: string) => void, log: Logger, everyMs = 2000): () => void {
    if (!this.opts.sourceRoot) return () => undefined;
    let last: string | undefined;
    let stopped = false;
    const poll = async () => {
      const now = await this.currentRoot().catch(() => undefined);
      if (stopped || now === undefined) return;
      if (last !== undefined && now !== last) {
        log.info('source root changed', { root: this.opts.sourceRoot, tree: now, previous: last });
      }
      last = now;
      onTree(now);
    };
    void poll();
    const timer = setInterval(() => void poll(), everyMs);
    timer.unref();
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }
}

/** "sha256:<12 hex>" over the network files' names and contents and the arguments. */
async function contentRevision(source: NetworkSource): Promise<string> {
  const h = createHash('sha256').update(JSON.stringify(source.args)).update(source.builder);
  for (const f of source.files) {
    h.update(`\0${f.split('/').pop() ?? f}\0`);
    h.update(await fs.readFile(f).catch(() => Buffer.from('<missing>')));
  }
  return `sha256:${h.digest('hex').slice(0, 12)}`;
}
