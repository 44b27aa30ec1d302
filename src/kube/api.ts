// The API server calls the Kubernetes source makes, as narrow interfaces (the client-node API classes provide
// them; tests may give fakes), and the patch content types, which client-node does not pick by itself.
import {
  PatchStrategy,
  setHeaderOptions,
  type ConfigurationOptions,
  type CoreV1Event,
  type KubernetesListObject,
  type V1Lease,
  type V1Secret,
} from '@kubernetes/client-node';
import { API_GROUP, API_VERSION } from '../api/deployment.js';
import { PLURAL } from '../api/crd.js';
import type { NixDeploymentObject } from './object.js';

/** A merge patch: without the header, client-node sends a JSON patch content type and the server refuses. */
export const MERGE_PATCH: ConfigurationOptions = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
export const JSON_PATCH: ConfigurationOptions = setHeaderOptions('Content-Type', PatchStrategy.JsonPatch);

interface CustomObjectRef {
  group: string;
  version: string;
  plural: string;
}

export const NIX_DEPLOYMENTS: CustomObjectRef = { group: API_GROUP, version: API_VERSION, plural: PLURAL };

/** CustomObjectsApi, as far as NixDeployments need it. */
export interface CustomObjectApi {
  listClusterCustomObject(p: CustomObjectRef & { labelSelector?: string }): Promise<unknown>;
  listNamespacedCustomObject(
    p: CustomObjectRef & { namespace: string; labelSelector?: string },
  ): Promise<unknown>;
  patchNamespacedCustomObject(
    p: CustomObjectRef & { namespace: string; name: string; body: unknown },
    options?: ConfigurationOptions,
  ): Promise<unknown>;
  patchNamespacedCustomObjectStatus(
    p: CustomObjectRef & { namespace: string; name: string; body: unknown },
    options?: ConfigurationOptions,
  ): Promise<unknown>;
}

export interface SecretApi {
  readNamespacedSecret(p: { name: string; namespace: string }): Promise<V1Secret>;
}

export interface EventApi {
  createNamespacedEvent(p: { namespace: string; body: CoreV1Event }): Promise<CoreV1Event>;
  patchNamespacedEvent(
    p: { name: string; namespace: string; body: unknown },
    options?: ConfigurationOptions,
  ): Promise<CoreV1Event>;
}

export interface LeaseApi {
  readNamespacedLease(p: { name: string; namespace: string }): Promise<V1Lease>;
  createNamespacedLease(p: { namespace: string; body: V1Lease }): Promise<V1Lease>;
  replaceNamespacedLease(p: { name: string; namespace: string; body: V1Lease }): Promise<V1Lease>;
}

/** The NixDeployment calls: list (for the informer), finalizer patches and the status subresource. */
export class NixDeploymentClient {
  constructor(
    private readonly api: CustomObjectApi,
    /** Watch only this namespace; all namespaces when undefined. */
    readonly namespace?: string,
    /** Only objects with these labels (a Kubernetes label selector): one shard of several controllers. */
    readonly labelSelector?: string,
  ) {}

  /** The collection's path, for watches. */
  get path(): string {
    const base = `/apis/${API_GROUP}/${API_VERSION}`;
    return this.namespace ? `${base}/namespaces/${this.namespace}/${PLURAL}` : `${base}/${PLURAL}`;
  }

  async list(): Promise<KubernetesListObject<NixDeploymentObject>> {
    const selector = this.labelSelector ? { labelSelector: this.labelSelector } : {};
    const list = this.namespace
      ? await this.api.listNamespacedCustomObject({
          ...NIX_DEPLOYMENTS,
          namespace: this.namespace,
          ...selector,
        })
      : await this.api.listClusterCustomObject({ ...NIX_DEPLOYMENTS, ...selector });
    return list as KubernetesListObject<NixDeploymentObject>;
  }

  async patchStatus(obj: NixDeploymentObject, status: unknown): Promise<NixDeploymentObject> {
    const { name, namespace } = obj.metadata;
    return (await this.api.patchNamespacedCustomObjectStatus(
      { ...NIX_DEPLOYMENTS, namespace, name, body: { status } },
      MERGE_PATCH,
    )) as NixDeploymentObject;
  }

  /** Apply JSON patch operations to the object (metadata.finalizers). */
  async patch(obj: NixDeploymentObject, ops: unknown[]): Promise<NixDeploymentObject> {
    const { name, namespace } = obj.metadata;
    return (await this.api.patchNamespacedCustomObject(
      { ...NIX_DEPLOYMENTS, namespace, name, body: ops },
      JSON_PATCH,
    )) as NixDeploymentObject;
  }
}
