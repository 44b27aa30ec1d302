// What the Kubernetes tests deploy and how they wait for it: NixDeployment manifests with short retry periods, a
// controller whose deployments reach their hosts with an SSH key from a Secret of their own namespace, and polls
// for a condition of the generation an object is at.
import { stringify } from 'yaml';
import { makeClientKey, type ClientKey } from '../../support/hosts.js';
import { cond, sshKeySecret, startController, startKubeEnv, until } from './harness.js';
import type { Condition, ControllerUnderTest, KubeEnv } from './harness.js';

/** What the tests read of a NixDeployment; a test that reads more extends it. */
export interface DeploymentObject {
  metadata: { generation: number };
  status?: { observedGeneration?: number; conditions?: Condition[] };
}

/**
 * A NixDeployment in `default` as YAML: built with the mini builder, resynced hourly, retried after a second.
 * `network` is the text of an inline network.nix, or spec.network itself; `spec` adds fields or overrides these.
 */
export function nixDeployment(
  name: string,
  network: string | Record<string, unknown>,
  spec: Record<string, unknown> = {},
): string {
  return stringify({
    apiVersion: 'reconix.dev/v1alpha1',
    kind: 'NixDeployment',
    metadata: { name, namespace: 'default' },
    spec: {
      network: typeof network === 'string' ? { inline: { 'network.nix': network } } : network,
      builder: 'mini',
      interval: '1h',
      retryInterval: '1s',
      ...spec,
    },
  });
}

/** spec.sshKeySecretRef naming the `id_ed25519` key of the Secret `secret`. */
export const sshKeyRef = (secret: string) => ({ sshKeySecretRef: { name: secret, key: 'id_ed25519' } });

type ControllerOptions = Parameters<typeof startController>[1];

/** A controller whose deployments use the key of a Secret; its cleanup removes the key too. */
export interface KeyedController extends ControllerUnderTest {
  /** The key stored in the Secret, to look for where it must never appear. */
  key: ClientKey;
}

/**
 * A fresh SSH key stored as the Secret `secret` in `default` (Kubernetes mode reaches hosts only with a key from
 * the object's namespace), then a controller started with `options`.
 */
export async function startKeyedController(
  env: KubeEnv,
  secret: string,
  options: ControllerOptions = {},
): Promise<KeyedController> {
  const key = await makeClientKey();
  try {
    await sshKeySecret(env, 'default', secret, key.privateKey);
    const ctl = await startController(env, options);
    return {
      ...ctl,
      key,
      async cleanup() {
        await ctl.cleanup();
        await key.cleanup();
      },
    };
  } catch (err) {
    await key.cleanup();
    throw err;
  }
}

export interface KeyedKube {
  env: KubeEnv;
  ctl: KeyedController;
}

/**
 * Registers the suite's hooks and returns what they fill in. Before the suite (as root: local hosts need
 * namespaces): an API server, then `prepare` (what the controller must find in place, and its options), then a
 * keyed controller. After it: every NixDeployment deleted if `deleteAll`, then the controller and the API server
 * stopped. A suite's own `after` hooks run after these.
 */
export function keyedKubeSuite(
  secret: string,
  setup: { prepare?: (env: KubeEnv) => Promise<ControllerOptions | void>; deleteAll?: boolean } = {},
): KeyedKube {
  const kube = {} as KeyedKube;
  before(async function () {
    if (process.getuid?.() !== 0) this.skip();
    kube.env = await startKubeEnv();
    const options = (await setup.prepare?.(kube.env)) ?? {};
    kube.ctl = await startKeyedController(kube.env, secret, options);
  });
  after(async () => {
    if (setup.deleteAll && kube.env) await deleteAllDeployments(kube.env);
    await kube.ctl?.cleanup();
    await kube.env?.cleanup();
  });
  return kube;
}

/**
 * Delete every NixDeployment and wait until they are gone, so that the controller destroys their hosts before it
 * stops. Best effort: what follows in a cleanup must run even if this fails.
 */
export async function deleteAllDeployments(env: KubeEnv): Promise<void> {
  await env.kubectl(['delete', 'nixd', '--all', '--wait=false']).catch(() => '');
  await until(
    'every object to go',
    async () => (await env.kubectl(['get', 'nixd', '-o', 'name'])).trim() === '',
    120_000,
  ).catch(() => undefined);
}

/** The object `name` once the controller has observed its current generation with condition `type` True. */
export function conditionTrue<T extends DeploymentObject = DeploymentObject>(
  env: KubeEnv,
  name: string,
  type: string,
  timeoutMs = 60_000,
): Promise<T> {
  return until(
    `${name} ${type}`,
    async () => {
      const o = await env.getJson<T>('nixdeployment', name);
      return cond(o, type)?.status === 'True' && o?.status?.observedGeneration === o?.metadata.generation
        ? o
        : undefined;
    },
    timeoutMs,
  );
}
