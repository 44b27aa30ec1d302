// Keys in Kubernetes mode: spec.keys from Secrets of the object's namespace, and deployment.keys with a `text`.
// keyFile and keyCommand are refused: they would read the controller's files or run its commands for any team
// that can write a NixDeployment. No HMAC is kept: the state (a ConfigMap) records key names only.
import { Reason } from '../../api/conditions.js';
import { ReconixError } from '../../core/errors.js';
import { selectMachines } from '../../plan/plan.js';
import type { ReconcileDeps } from '../../observe/run.js';
import type { DeploymentSecrets, SecretKey } from './secrets.js';
import type { KeySource } from '../../keys/resolve.js';
import { DEFAULT_KEY_DIR, type DesiredKey } from '../../keys/spec.js';

const refused = (machine: string, name: string, what: string) =>
  new ReconixError(
    Reason.KeyUnavailable,
    `${machine}: key ${JSON.stringify(name)}: ${what} is not allowed in Kubernetes mode (it would use the controller's own ${what === 'keyFile' ? 'files' : 'commands'}); give the key from a Secret with spec.keys`,
    { reaction: 'stall' },
  );

export function kubeKeySource(keys: readonly SecretKey[]): KeySource {
  const contents = new Map<string, Buffer>();
  return {
    declared(machines) {
      const out: Record<string, Record<string, DesiredKey>> = {};
      for (const { spec, content } of keys) {
        const globs = [spec.machine, spec.machines].filter((g): g is string => g !== undefined);
        if (globs.length === 0) {
          throw new ReconixError(
            Reason.InvalidManifest,
            `spec.keys: key ${JSON.stringify(spec.name)} needs machine or machines`,
            { reaction: 'stall' },
          );
        }
        for (const m of selectMachines(machines, globs, [])) {
          (out[m] ??= {})[spec.name] = {
            destDir: spec.destDir ?? DEFAULT_KEY_DIR,
            user: spec.user ?? 'root',
            group: spec.group ?? 'root',
            permissions: spec.permissions ?? '0600',
            uploadAt: spec.uploadAt ?? 'pre-activation',
            secretRef: spec.secretRef,
          };
          contents.set(`${m}\0${spec.name}`, content);
        }
      }
      return out;
    },
    read(machine, name, key) {
      if (key.keyFile !== undefined) return Promise.reject(refused(machine, name, 'keyFile'));
      if (key.keyCommand !== undefined) return Promise.reject(refused(machine, name, 'keyCommand'));
      if (key.text !== undefined) return Promise.resolve(Buffer.from(key.text, 'utf8'));
      const content = contents.get(`${machine}\0${name}`);
      if (!content) {
        return Promise.reject(
          new ReconixError(Reason.KeyUnavailable, `${machine}: key ${JSON.stringify(name)} has no content`),
        );
      }
      return Promise.resolve(content);
    },
  };
}

/** The deps of one NixDeployment's reconcile: its keys from its Secrets, and no HMAC secret. */
export function withKubeKeys(deps: ReconcileDeps, secrets: DeploymentSecrets): ReconcileDeps {
  const { keyHmacSecret: _none, ...rest } = deps;
  return { ...rest, keySource: kubeKeySource(secrets.keys ?? []) };
}
