// Waking stalled NixDeployments when a Secret they use changes. RBAC gives the controller `get` on Secrets and
// nothing more (no list, no watch: it never holds Secrets it was not asked to read), so the Secrets of stalled
// deployments are read by name every few seconds and their resourceVersion compared with the one the failed
// reconcile saw. Only stalled deployments are polled, and a Secret shared by several is read once per round;
// nothing of a Secret but its resourceVersion is kept.
import type { SecretApi } from '../../kube/api.js';
import { isNotFound, kubeMessage } from '../../kube/errors.js';
import type { Logger } from '../../core/ports.js';
import type { NixDeploymentObject } from '../../kube/object.js';

/** The resourceVersion of each Secret a reconcile read; null: the Secret did not exist. */
export type SecretVersions = Record<string, string | null>;

/** The Secrets a deployment uses, by name, in its own namespace. */
export function secretNamesOf(obj: NixDeploymentObject): string[] {
  const names = [
    obj.spec.sshKeySecretRef?.name,
    obj.spec.awsCredentialsSecretRef?.name,
    ...(obj.spec.keys ?? []).map((k) => k.secretRef.name),
  ];
  return [...new Set(names.filter((n): n is string => Boolean(n)))];
}

/** A SecretApi that notes the resourceVersion of every Secret read through it (and of those not found). */
export function recordingSecrets(api: SecretApi, seen: SecretVersions): SecretApi {
  return {
    async readNamespacedSecret(p) {
      try {
        const secret = await api.readNamespacedSecret(p);
        const version = secret.metadata?.resourceVersion;
        if (version !== undefined) seen[p.name] = version;
        return secret;
      } catch (err) {
        if (isNotFound(err)) seen[p.name] = null;
        throw err;
      }
    },
  };
}

interface Watched {
  namespace: string;
  /** What the failed reconcile saw; undefined: not read then, learnt on the first poll. */
  versions: Map<string, string | null | undefined>;
}

export interface SecretWatchOptions {
  api: SecretApi;
  /** Called once when a Secret of a watched deployment changed; the deployment is no longer watched. */
  onChange: (key: string, secret: string) => void;
  log: Logger;
  everyMs?: number;
}

export class SecretWatch {
  private readonly watched = new Map<string, Watched>();
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;

  constructor(private readonly opts: SecretWatchOptions) {}

  /** Watch the Secrets `names` of a stalled deployment, from the versions its reconcile saw. */
  watch(key: string, namespace: string, names: readonly string[], seen: SecretVersions = {}): void {
    if (names.length === 0) return this.forget(key);
    const versions = new Map(names.map((n) => [n, n in seen ? (seen[n] ?? null) : undefined] as const));
    this.watched.set(key, { namespace, versions });
  }

  forget(key: string): void {
    this.watched.delete(key);
  }

  get size(): number {
    return this.watched.size;
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.poll(), this.opts.everyMs ?? 10_000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.polling;
  }

  /** One round: read each watched Secret once, and wake the deployments whose Secrets changed. */
  poll(): Promise<void> {
    this.polling ??= this.round().finally(() => (this.polling = undefined));
    return this.polling;
  }

  private async round(): Promise<void> {
    const current = new Map<string, Promise<string | null | undefined>>();
    const versionOf = (namespace: string, name: string) => {
      const id = `${namespace}/${name}`;
      let v = current.get(id);
      if (!v) {
        v = this.read(namespace, name);
        current.set(id, v);
      }
      return v;
    };
    for (const [key, w] of [...this.watched]) {
      for (const [name, before] of w.versions) {
        const now = await versionOf(w.namespace, name);
        if (now === undefined || this.watched.get(key) !== w) continue; // unreadable now, or no longer watched
        if (before === undefined) {
          w.versions.set(name, now);
        } else if (now !== before) {
          this.watched.delete(key);
          this.opts.log.info('a Secret of a stalled deployment changed', {
            deployment: key,
            secret: `${w.namespace}/${name}`,
          });
          this.opts.onChange(key, name);
          break;
        }
      }
    }
  }

  /** The Secret's resourceVersion, null when it does not exist, undefined when it cannot be read now. */
  private async read(namespace: string, name: string): Promise<string | null | undefined> {
    try {
      const secret = await this.opts.api.readNamespacedSecret({ name, namespace });
      return secret.metadata?.resourceVersion;
    } catch (err) {
      if (isNotFound(err)) return null;
      this.opts.log.warn('cannot read a Secret of a stalled deployment', {
        secret: `${namespace}/${name}`,
        error: kubeMessage(err),
      });
      return undefined;
    }
  }
}
