// State in Kubernetes mode: one ConfigMap per NixDeployment, in its namespace and owned by it, so the state goes
// where the object goes and any replica can pick it up. The resourceVersion is the lock: every write names the
// version it read, and a holder annotation, renewed while held, keeps a second writer out. The state holds no
// secrets by design (key material stays in Secrets), so a ConfigMap is the right kind of object.
import { randomBytes } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { V1ConfigMap, V1OwnerReference } from '@kubernetes/client-node';
import { Reason } from '../api/conditions.js';
import { ReconixError } from '../core/errors.js';
import { emptyState, type DeploymentState } from '../core/model.js';
import { isConflict, isNotFound, kubeMessage, retryTransient, type RetryOptions } from '../kube/errors.js';
import { deploymentId, parseDeploymentId } from '../kube/object.js';
import type { StateBackend, StateHandle } from './backend.js';

/** The ConfigMap calls the store makes; CoreV1Api provides them. */
export interface ConfigMapApi {
  readNamespacedConfigMap(p: { name: string; namespace: string }): Promise<V1ConfigMap>;
  createNamespacedConfigMap(p: { namespace: string; body: V1ConfigMap }): Promise<V1ConfigMap>;
  replaceNamespacedConfigMap(p: { name: string; namespace: string; body: V1ConfigMap }): Promise<V1ConfigMap>;
  deleteNamespacedConfigMap(p: { name: string; namespace: string }): Promise<unknown>;
  listConfigMapForAllNamespaces(p: { labelSelector?: string }): Promise<{ items: V1ConfigMap[] }>;
}

export const STATE_LABEL = 'reconix.dev/state';
export const DEPLOYMENT_LABEL = 'reconix.dev/deployment';
const HOLDER = 'reconix.dev/state-holder';
const PLAIN_KEY = 'state.json';
const GZIP_KEY = 'state.json.gz';
/** Above this the state is stored gzipped: a ConfigMap holds at most 1 MiB. */
const GZIP_ABOVE = 256 * 1024;

export const stateConfigMapName = (name: string): string => `reconix-state-${name}`;

interface Holder {
  token: string;
  identity: string;
  purpose: string;
  renewed: string;
}

export interface KubeStateStoreOptions {
  api: ConfigMapApi;
  /** Names this process in the holder annotation (pod name). */
  identity: string;
  /** The owner of a deployment's state: its NixDeployment, so that the state is collected with it. */
  ownerOf?: (id: string) => V1OwnerReference | undefined;
  /** A holder that has not renewed for this long is gone (crashed). */
  staleAfterMs?: number;
  renewEveryMs?: number;
  retry?: RetryOptions;
  now?: () => Date;
}

export class KubeStateStore implements StateBackend {
  private readonly staleAfterMs: number;
  private readonly renewEveryMs: number;
  private readonly now: () => Date;
  /** Deployments whose state this process holds now. */
  private readonly held = new Set<string>();

  constructor(private readonly opts: KubeStateStoreOptions) {
    this.staleAfterMs = opts.staleAfterMs ?? 60_000;
    this.renewEveryMs = opts.renewEveryMs ?? 20_000;
    this.now = opts.now ?? (() => new Date());
  }

  async read(id: string): Promise<DeploymentState> {
    const cm = await this.get(id);
    return cm ? decode(cm, id) : emptyState(id);
  }

  async list(): Promise<string[]> {
    const list = await this.call(() =>
      this.opts.api.listConfigMapForAllNamespaces({ labelSelector: `${STATE_LABEL}=true` }),
    );
    return list.items.flatMap((cm) => {
      const name = cm.metadata?.labels?.[DEPLOYMENT_LABEL];
      return name && cm.metadata?.namespace ? [deploymentId(cm.metadata.namespace, name)] : [];
    });
  }

  async remove(id: string): Promise<void> {
    const { namespace, name } = parseDeploymentId(id);
    await this.call(() =>
      this.opts.api.deleteNamespacedConfigMap({ name: stateConfigMapName(name), namespace }),
    ).catch((err: unknown) => {
      if (!isNotFound(err)) throw this.failure(id, 'remove', err);
    });
  }

  async acquire(id: string, purpose: string): Promise<StateHandle> {
    const holder: Holder = {
      token: randomBytes(8).toString('hex'),
      identity: this.opts.identity,
      purpose,
      renewed: this.now().toISOString(),
    };
    for (let attempt = 0; attempt < 5; attempt++) {
      const current = await this.get(id);
      const other = current ? holderOf(current) : undefined;
      // A hold in our own name that this process does not have is left over from a crash of ours.
      const ours = other?.identity === this.opts.identity && !this.held.has(id);
      const fresh = other && Date.parse(other.renewed) + this.staleAfterMs > this.now().getTime();
      if (other && fresh && !ours) {
        throw new ReconixError(
          Reason.StateLocked,
          `the state of ${id} is held by ${other.identity} (${other.purpose}) since ${other.renewed}; ` +
            'waiting for it to finish or to go stale',
          { reaction: 'wait' },
        );
      }
      const state = current ? decode(current, id) : emptyState(id);
      try {
        const written = await this.write(id, current, state, holder);
        this.held.add(id);
        return this.handle(id, state, holder, written);
      } catch (err) {
        if (!isConflict(err)) throw this.failure(id, 'lock', err);
        // Someone wrote between our read and our write: read again.
      }
    }
    throw new ReconixError(Reason.StateLocked, `could not lock the state of ${id}: it keeps changing`);
  }

  private handle(id: string, state: DeploymentState, holder: Holder, cm: V1ConfigMap): StateHandle {
    let current = cm;
    let chain: Promise<void> = Promise.resolve();
    let released = false;
    let gone = false;
    const writeNow = async (withHolder: boolean): Promise<void> => {
      if (gone) return;
      for (let attempt = 0; attempt < 5; attempt++) {
        holder.renewed = this.now().toISOString();
        try {
          current = await this.write(id, current, state, withHolder ? holder : undefined);
          return;
        } catch (err) {
          if (isNotFound(err)) {
            gone = true; // removed while held (destroy): nothing left to write
            return;
          }
          if (!isConflict(err)) throw this.failure(id, 'save', err);
          const fresh = await this.get(id);
          if (!fresh || holderOf(fresh)?.token !== holder.token) {
            throw new ReconixError(
              Reason.StateLocked,
              `lost the lock on the state of ${id} to another writer`,
            );
          }
          current = fresh; // changed by someone else (labels, say) without taking our lock: write on top
        }
      }
      throw new ReconixError(Reason.StateLocked, `could not write the state of ${id}: it keeps changing`);
    };
    const enqueue = (withHolder: boolean): Promise<void> => {
      const next = chain.then(() => writeNow(withHolder));
      chain = next.catch(() => undefined);
      return next;
    };
    // As in the file store: a save queued behind the write in progress, not started yet, serves the saves made
    // meanwhile (it encodes the state when it starts), so that many resources saving at once write a few times.
    let queued: Promise<void> | undefined;
    // A long build saves nothing for minutes: renew the hold so that nobody takes it for stale.
    const renew = setInterval(() => void enqueue(true).catch(() => undefined), this.renewEveryMs);
    renew.unref();
    return {
      state,
      save: () => {
        if (released) return Promise.reject(new Error(`state of ${id} saved after its lock was released`));
        if (queued) return queued;
        const next = chain.then(() => {
          queued = undefined;
          return writeNow(true);
        });
        queued = next;
        chain = next.catch(() => undefined);
        return next;
      },
      release: async () => {
        if (released) return;
        released = true;
        clearInterval(renew);
        await enqueue(false).catch(() => undefined);
        this.held.delete(id);
      },
    };
  }

  private async get(id: string): Promise<V1ConfigMap | undefined> {
    const { namespace, name } = parseDeploymentId(id);
    try {
      return await this.call(() =>
        this.opts.api.readNamespacedConfigMap({ name: stateConfigMapName(name), namespace }),
      );
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw this.failure(id, 'read', err);
    }
  }

  /** Create or replace (naming the version read) the ConfigMap with `state` and `holder`. */
  private write(
    id: string,
    current: V1ConfigMap | undefined,
    state: DeploymentState,
    holder: Holder | undefined,
  ): Promise<V1ConfigMap> {
    const { namespace, name } = parseDeploymentId(id);
    const cmName = stateConfigMapName(name);
    const owner = this.opts.ownerOf?.(id);
    const annotations = { ...(current?.metadata?.annotations ?? {}) };
    if (holder) annotations[HOLDER] = JSON.stringify(holder);
    else delete annotations[HOLDER];
    const body: V1ConfigMap = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        ...withoutManagedFields(current?.metadata),
        name: cmName,
        namespace,
        labels: {
          ...(current?.metadata?.labels ?? {}),
          [STATE_LABEL]: 'true',
          [DEPLOYMENT_LABEL]: name,
          'app.kubernetes.io/managed-by': 'reconix',
        },
        annotations,
        ...(owner ? { ownerReferences: [owner] } : {}),
      },
      ...encode(state),
    };
    return current
      ? this.call(() => this.opts.api.replaceNamespacedConfigMap({ name: cmName, namespace, body }))
      : this.call(() => this.opts.api.createNamespacedConfigMap({ namespace, body }));
  }

  private call<T>(fn: () => Promise<T>): Promise<T> {
    return retryTransient(fn, this.opts.retry);
  }

  private failure(id: string, what: string, err: unknown): ReconixError {
    if (err instanceof ReconixError) return err;
    return new ReconixError(Reason.StateLocked, `cannot ${what} the state of ${id}: ${kubeMessage(err)}`, {
      cause: err,
    });
  }
}

function withoutManagedFields(meta: V1ConfigMap['metadata']): V1ConfigMap['metadata'] {
  if (!meta) return {};
  const { managedFields: _dropped, ...rest } = meta;
  return rest;
}

function holderOf(cm: V1ConfigMap): Holder | undefined {
  const text = cm.metadata?.annotations?.[HOLDER];
  if (!text) return undefined;
  try {
    const h = JSON.parse(text) as Holder;
    return typeof h.token === 'string' && typeof h.renewed === 'string' ? h : undefined;
  } catch {
    return undefined;
  }
}

function encode(state: DeploymentState): Pick<V1ConfigMap, 'data' | 'binaryData'> {
  const json = JSON.stringify(state);
  if (json.length <= GZIP_ABOVE) return { data: { [PLAIN_KEY]: json } };
  return { binaryData: { [GZIP_KEY]: gzipSync(json).toString('base64') } };
}

/** A state ConfigMap holds at most 1 MiB: what it inflates to is bounded too, against a gzip bomb. */
export const MAX_STATE_BYTES = 64 * 1024 * 1024;

export function inflateState(gz: string, id: string, limit = MAX_STATE_BYTES): string {
  try {
    return gunzipSync(Buffer.from(gz, 'base64'), { maxOutputLength: limit }).toString('utf8');
  } catch (err) {
    throw new ReconixError(
      Reason.StateLocked,
      `the recorded state of ${id} does not inflate to at most ${limit} bytes: ${(err as Error).message}`,
      { reaction: 'stall', cause: err },
    );
  }
}

function decode(cm: V1ConfigMap, id: string): DeploymentState {
  const gz = cm.binaryData?.[GZIP_KEY];
  const text = gz ? inflateState(gz, id) : cm.data?.[PLAIN_KEY];
  if (!text) return emptyState(id);
  const parsed = JSON.parse(text) as DeploymentState;
  if (parsed.version !== 1) {
    throw new ReconixError(
      Reason.StateLocked,
      `unsupported state version ${String(parsed.version)} for ${id}`,
      {
        reaction: 'stall',
      },
    );
  }
  return parsed;
}
