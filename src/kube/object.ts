// The NixDeployment as the API server holds it, and what about it makes the controller act.
import type { KubernetesObject, V1ObjectMeta } from '@kubernetes/client-node';
import type { NixDeploymentManifest, NixDeploymentSpec, NixDeploymentStatus } from '../api/deployment.js';

/** A deployment in Kubernetes mode is "<namespace>.<name>": namespaces hold no dots, so this splits back. */
export function deploymentId(namespace: string, name: string): string {
  return `${namespace}.${name}`;
}

export function parseDeploymentId(id: string): { namespace: string; name: string } {
  const i = id.indexOf('.');
  if (i <= 0 || i === id.length - 1) throw new Error(`not a namespaced deployment id: ${JSON.stringify(id)}`);
  return { namespace: id.slice(0, i), name: id.slice(i + 1) };
}

/** Held on every NixDeployment until what it created is destroyed. */
export const FINALIZER = 'reconix.dev/finalizer';
/** Set to any new value (a timestamp, by convention) to reconcile now, as Flux's requestedAt. */
export const REQUESTED_AT = 'reconix.dev/requestedAt';
/** Set to a new value to resume a rollout paused after a wave (`reconix rollout resume` in the other modes). */
export const RESUME = 'reconix.dev/resume';

export interface NixDeploymentObject extends KubernetesObject {
  metadata: V1ObjectMeta & { name: string; namespace: string };
  spec: NixDeploymentSpec;
  status?: NixDeploymentStatus;
}

export function keyOf(obj: KubernetesObject): string {
  return deploymentId(obj.metadata?.namespace ?? 'default', obj.metadata?.name ?? '');
}

export function isNixDeployment(obj: KubernetesObject | undefined): obj is NixDeploymentObject {
  const o = obj as Partial<NixDeploymentObject> | undefined;
  return Boolean(o?.metadata?.name && o.metadata.namespace && o.spec && typeof o.spec === 'object');
}

export const requestedAt = (obj: NixDeploymentObject): string | undefined =>
  obj.metadata.annotations?.[REQUESTED_AT];

export const isDeleting = (obj: NixDeploymentObject): boolean => Boolean(obj.metadata.deletionTimestamp);

export const hasFinalizer = (obj: NixDeploymentObject): boolean =>
  (obj.metadata.finalizers ?? []).includes(FINALIZER);

/**
 * What makes a watch event worth a reconcile: a new generation (the spec changed), a new requestedAt, or the
 * start of deletion. Status writes (ours included) and other metadata changes leave it as it was, so they do not
 * trigger reconciles: that is what keeps the controller out of a loop with its own status updates.
 */
export function triggerOf(obj: NixDeploymentObject): string {
  const resume = obj.metadata.annotations?.[RESUME] ?? '';
  return [
    obj.metadata.generation ?? 0,
    requestedAt(obj) ?? '',
    isDeleting(obj) ? 'deleting' : '',
    resume,
  ].join('|');
}

/** The manifest view of the object, as the spec loaders and validation see it. */
export function manifestOf(obj: NixDeploymentObject): NixDeploymentManifest {
  return {
    apiVersion: obj.apiVersion ?? '',
    kind: obj.kind ?? '',
    metadata: {
      name: obj.metadata.name,
      namespace: obj.metadata.namespace,
      ...(obj.metadata.generation === undefined ? {} : { generation: obj.metadata.generation }),
    },
    spec: obj.spec,
  };
}

export const objectRef = (obj: NixDeploymentObject): string =>
  `${obj.metadata.namespace}/${obj.metadata.name}`;
