// Key material the controller makes for a NixDeployment (EC2 key pairs' and instances' private keys) in Kubernetes
// mode: one Secret per deployment, in its namespace and owned by it, read afresh on every use. A replica that
// takes over on another node, with an empty working directory, finds every key there; deleting the object
// collects them. The controller writes only a Secret it owns: a Secret of that name it does not own is refused.
import type { V1OwnerReference, V1Secret } from '@kubernetes/client-node';
import { Reason } from '../../api/conditions.js';
import { ReconixError } from '../../core/errors.js';
import { isConflict, isNotFound, kubeMessage } from '../../kube/errors.js';
import { parseDeploymentId } from '../../kube/object.js';
import { secretFileName, type SecretStore } from '../../providers/aws/secrets.js';

/** The Secret calls the store makes; CoreV1Api provides them. */
export interface SecretWriteApi {
  readNamespacedSecret(p: { name: string; namespace: string }): Promise<V1Secret>;
  createNamespacedSecret(p: { namespace: string; body: V1Secret }): Promise<V1Secret>;
  replaceNamespacedSecret(p: { name: string; namespace: string; body: V1Secret }): Promise<V1Secret>;
  deleteNamespacedSecret(p: { name: string; namespace: string }): Promise<unknown>;
}

export const KEYS_LABEL = 'reconix.dev/keys';
/** What a key's path looks like: a reference to its Secret, never a file of the controller. */
const REF_PREFIX = 'k8s-secret:';

export const keysSecretName = (name: string): string => `reconix-keys-${name}`;

export interface KubeSecretStoreOptions {
  api: SecretWriteApi;
  /** The NixDeployment that owns a deployment's keys; undefined while it is not known (nothing is written). */
  ownerOf: (id: string) => V1OwnerReference | undefined;
}

export class KubeSecretStore implements SecretStore {
  constructor(private readonly opts: KubeSecretStoreOptions) {}

  path(deployment: string, key: string): string {
    const { namespace, name } = parseDeploymentId(deployment);
    return `${REF_PREFIX}${namespace}/${keysSecretName(name)}/${secretFileName(key)}`;
  }

  /** The key a path() of this deployment names; undefined for any other path (another deployment's too). */
  async readPath(deployment: string, path: string): Promise<string | undefined> {
    const { namespace, name } = parseDeploymentId(deployment);
    const prefix = `${REF_PREFIX}${namespace}/${keysSecretName(name)}/`;
    if (!path.startsWith(prefix)) return undefined;
    const secret = await this.get(deployment);
    const value = secret?.data?.[path.slice(prefix.length)];
    return value === undefined ? undefined : Buffer.from(value, 'base64').toString('utf8');
  }

  async read(deployment: string, key: string): Promise<string | undefined> {
    const value = (await this.get(deployment))?.data?.[secretFileName(key)];
    return value === undefined ? undefined : Buffer.from(value, 'base64').toString('utf8');
  }

  async write(deployment: string, key: string, value: string): Promise<void> {
    await this.update(deployment, (data) => {
      data[secretFileName(key)] = Buffer.from(value, 'utf8').toString('base64');
    });
  }

  async remove(deployment: string, key: string): Promise<void> {
    await this.update(deployment, (data) => {
      delete data[secretFileName(key)];
    });
  }

  private async get(deployment: string): Promise<V1Secret | undefined> {
    const { namespace, name } = parseDeploymentId(deployment);
    try {
      const secret = await this.opts.api.readNamespacedSecret({ name: keysSecretName(name), namespace });
      this.checkOwned(deployment, secret);
      return secret;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw this.failure(deployment, 'read', err);
    }
  }

  /** Read, change and write back; a conflict (another writer in between) reads again. */
  private async update(deployment: string, change: (data: Record<string, string>) => void): Promise<void> {
    const { namespace, name } = parseDeploymentId(deployment);
    const secretName = keysSecretName(name);
    for (let attempt = 0; attempt < 5; attempt++) {
      const current = await this.get(deployment);
      const data = { ...(current?.data ?? {}) };
      change(data);
      try {
        if (current) {
          await this.opts.api.replaceNamespacedSecret({
            name: secretName,
            namespace,
            body: { ...current, data },
          });
          return;
        }
        if (Object.keys(data).length === 0) return;
        const owner = this.opts.ownerOf(deployment);
        if (!owner) {
          throw new ReconixError(
            Reason.KeyUnavailable,
            `${deployment}: cannot keep a key: the NixDeployment that would own Secret ${namespace}/${secretName} is not known`,
          );
        }
        await this.opts.api.createNamespacedSecret({
          namespace,
          body: {
            apiVersion: 'v1',
            kind: 'Secret',
            type: 'Opaque',
            metadata: {
              name: secretName,
              namespace,
              labels: { [KEYS_LABEL]: 'true' },
              ownerReferences: [owner],
            },
            data,
          },
        });
        return;
      } catch (err) {
        if (err instanceof ReconixError) throw err;
        if (!isConflict(err)) throw this.failure(deployment, 'write', err);
      }
    }
    throw new ReconixError(
      Reason.KeyUnavailable,
      `${deployment}: Secret ${namespace}/${secretName} kept changing under this controller; trying again later`,
    );
  }

  /** Only the Secret this deployment owns holds its keys: another of that name is left alone, and refused. */
  private checkOwned(deployment: string, secret: V1Secret): void {
    const owner = this.opts.ownerOf(deployment);
    const refs = secret.metadata?.ownerReferences ?? [];
    const owned = owner
      ? refs.some((r) => r.uid === owner.uid)
      : refs.some((r) => r.kind === 'NixDeployment' && r.controller === true);
    if (owned && secret.metadata?.labels?.[KEYS_LABEL] === 'true') return;
    const { namespace, name } = parseDeploymentId(deployment);
    throw new ReconixError(
      Reason.KeyUnavailable,
      `Secret ${namespace}/${keysSecretName(name)} exists but is not owned by NixDeployment ${namespace}/${name}: ` +
        'the controller keeps its keys only in a Secret it created; rename or delete that Secret',
      { reaction: 'stall' },
    );
  }

  private failure(deployment: string, what: string, err: unknown): ReconixError {
    if (err instanceof ReconixError) return err;
    const { namespace, name } = parseDeploymentId(deployment);
    return new ReconixError(
      Reason.KeyUnavailable,
      `cannot ${what} Secret ${namespace}/${keysSecretName(name)}: ${kubeMessage(err)}`,
      { cause: err },
    );
  }
}
