// Watches the Flux source kinds that NixDeployments refer to, so that a new artifact (a new commit, a new OCI
// tag) reconciles the deployments that read it at once rather than at their next resync. A kind is watched from
// the first deployment that names it, so a cluster without Flux is never asked for kinds it does not have; a
// watch that fails (the CRD not installed yet, the API server away) is restarted with backoff.
import { makeInformer, type Informer, type KubeConfig, type ObjectCache } from '@kubernetes/client-node';
import type { KubernetesListObject } from '@kubernetes/client-node';
import type { Logger } from '../../core/ports.js';
import { kubeMessage } from '../../kube/errors.js';
import { FLUX_GROUP, FLUX_KINDS, type FluxKind, type FluxSourceObject } from './flux.js';

export interface FluxListApi {
  listClusterCustomObject(p: { group: string; version: string; plural: string }): Promise<unknown>;
  listNamespacedCustomObject(p: {
    group: string;
    version: string;
    plural: string;
    namespace: string;
  }): Promise<unknown>;
}

export interface FluxWatchOptions {
  kubeConfig: KubeConfig;
  api: FluxListApi;
  /** Watch only this namespace; all when undefined. */
  namespace?: string;
  log: Logger;
  /** Called when a source's artifact changes (or the source appears or goes). */
  onChange(kind: FluxKind, namespace: string, name: string): void;
  maxDelayMs?: number;
}

type SourceInformer = Informer<FluxSourceObject> & ObjectCache<FluxSourceObject>;

const artifactKey = (o: FluxSourceObject) =>
  `${o.status?.artifact?.revision ?? ''}|${o.status?.artifact?.digest ?? ''}`;

export class FluxSourceWatch {
  private readonly informers = new Map<FluxKind, SourceInformer>();
  private readonly seen = new Map<string, string>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private stopped = false;

  constructor(private readonly opts: FluxWatchOptions) {}

  /** Start watching `kind`, once. */
  ensure(kind: FluxKind): void {
    if (this.stopped || this.informers.has(kind)) return;
    const { version, plural } = FLUX_KINDS[kind];
    const { namespace, api } = this.opts;
    const base = `/apis/${FLUX_GROUP}/${version}`;
    const path = namespace ? `${base}/namespaces/${namespace}/${plural}` : `${base}/${plural}`;
    const ref = { group: FLUX_GROUP, version, plural };
    const informer = makeInformer<FluxSourceObject>(
      this.opts.kubeConfig,
      path,
      async () =>
        (await (namespace
          ? api.listNamespacedCustomObject({ ...ref, namespace })
          : api.listClusterCustomObject(ref))) as KubernetesListObject<FluxSourceObject>,
    );
    let failures = 0;
    const changed = (o: FluxSourceObject, gone = false) => {
      failures = 0;
      const id = `${kind}/${o.metadata.namespace}/${o.metadata.name}`;
      const now = gone ? undefined : artifactKey(o);
      if (this.seen.get(id) === now) return;
      if (now === undefined) this.seen.delete(id);
      else this.seen.set(id, now);
      this.opts.onChange(kind, o.metadata.namespace, o.metadata.name);
    };
    informer.on('add', (o) => changed(o));
    informer.on('update', (o) => changed(o));
    informer.on('delete', (o) => changed(o, true));
    const onError = (err: unknown) => {
      if (this.stopped) return;
      failures += 1;
      const delay = Math.min(500 * 2 ** (failures - 1), this.opts.maxDelayMs ?? 30_000);
      this.opts.log.warn('watch of Flux sources failed; restarting', {
        kind,
        error: kubeMessage(err),
        retryInMs: delay,
      });
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        if (!this.stopped) void informer.start().catch(onError);
      }, delay);
      timer.unref();
      this.timers.add(timer);
    };
    // A failed watch is reported through 'error'; a failed list rejects start().
    informer.on('error', onError);
    this.informers.set(kind, informer);
    void informer.start().catch(onError);
    this.opts.log.info('watching Flux sources', { kind, path });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    await Promise.all([...this.informers.values()].map((i) => i.stop()));
  }
}
