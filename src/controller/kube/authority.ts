// What a NixDeployment may use of the controller's own: nothing. Its SSH key and AWS credentials come from Secrets
// of its namespace only; without them it fails with a condition saying which field is missing, and no file of the
// controller (deployment.sshKeyFile, a key path recorded in its state) is ever read for it. The controller's AWS
// credentials serve a deployment only when the controller runs with --allow-ambient-aws-credentials.
import { Reason } from '../../api/conditions.js';
import { ReconixError } from '../../core/errors.js';
import type { ResourceManager, TargetProvider } from '../../core/ports.js';
import type { ClientKey, ReconcileDeps } from '../../observe/run.js';
import type { DeploymentState, PhysicalView } from '../../core/model.js';
import type { DeploymentSecrets } from './secrets.js';

const NO_SSH_KEY =
  "spec.sshKeySecretRef is required in Kubernetes mode to reach machines: the controller's own SSH key is never used for a NixDeployment";

const NO_AWS =
  'spec.awsCredentialsSecretRef is required in Kubernetes mode for EC2 machines and AWS resources: ' +
  "the controller's own AWS credentials are used only when it runs with --allow-ambient-aws-credentials";

const stall = (reason: Reason, message: string) => new ReconixError(reason, message, { reaction: 'stall' });

/**
 * The client key of a deployment without spec.sshKeySecretRef: any use of it fails. Destroying may still read the
 * (empty) public half, since removing a local host needs no key.
 */
export function absentClientKey(opts: { destroying: boolean }): ClientKey {
  return {
    get privateKey(): string {
      throw stall(Reason.SecretNotFound, NO_SSH_KEY);
    },
    get publicKey(): string {
      if (opts.destroying) return '';
      throw stall(Reason.SecretNotFound, NO_SSH_KEY);
    },
  };
}

/** deployment.sshKeyFile names a file of the controller: refused, whoever wrote the path. */
function refuseKeyFile(file: string): Promise<string> {
  return Promise.reject(
    stall(
      Reason.KeyUnavailable,
      `deployment.sshKeyFile ${JSON.stringify(file)} is not allowed in Kubernetes mode (it would read a file of the controller); give the key with spec.sshKeySecretRef`,
    ),
  );
}

/** EC2 machines or AWS resources, declared or recorded (an empty resource type is neither). */
function usesAws(physical: PhysicalView, state: DeploymentState): boolean {
  return (
    Object.values(physical.machines).some((m) => m.targetEnv === 'ec2') ||
    Object.values(physical.resources).some((byName) => Object.keys(byName).length > 0) ||
    Object.keys(state.resources).length > 0 ||
    Object.values(state.machines).some((m) => m.targetEnv === 'ec2')
  );
}

const refusedAws = () => stall(Reason.SecretNotFound, NO_AWS);

/** The ec2 target and AWS resources of a deployment without credentials of its own. */
function refusingAws(): {
  provider: TargetProvider;
  resources: ResourceManager;
  prepare: ReconcileDeps['prepare'];
} {
  const fail = () => Promise.reject(refusedAws());
  return {
    provider: {
      env: 'ec2',
      creates: true,
      observe: (_d, machines) => (machines.length === 0 ? Promise.resolve({}) : fail()),
      create: fail,
      start: fail,
      stop: fail,
      destroy: fail,
      describe: () => ({ exists: false, running: false, facts: {}, detail: NO_AWS }),
    },
    // The reconciler asks every deployment for its resources: only one that has some is refused.
    resources: {
      reconcile: (ctx) =>
        usesAws(ctx.physical, ctx.state) ? fail() : Promise.resolve({ changes: [], facts: {} }),
      destroy: (ctx) => (usesAws(ctx.physical, ctx.state) ? fail() : Promise.resolve([])),
    },
    prepare: (physical, state) => (usesAws(physical, state) ? fail() : Promise.resolve()),
  };
}

export interface AuthorityOptions {
  /** Let deployments without spec.awsCredentialsSecretRef use the controller's AWS credentials (IRSA, one team). */
  allowAmbientAws: boolean;
  destroying: boolean;
  /**
   * A key the controller keeps for this deployment, by the reference its key pair records (undefined: not one of
   * them); those are the only "files" an EC2 machine's SSH may name.
   */
  ownKeys?: (path: string) => Promise<string | undefined>;
}

/** The deps of one deployment with everything of the controller's own taken out. */
export function withoutAmbientAuthority(
  deps: ReconcileDeps,
  secrets: DeploymentSecrets,
  opts: AuthorityOptions,
): ReconcileDeps {
  const out: ReconcileDeps = {
    ...deps,
    clientKey: secrets.clientKey ?? absentClientKey({ destroying: opts.destroying }),
    readKeyFile: async (path) => (await opts.ownKeys?.(path)) ?? refuseKeyFile(path),
  };
  if (secrets.aws || opts.allowAmbientAws) return out;
  const aws = refusingAws();
  // Without AWS of its own, a deployment has no binary cache either: its machines in copy mode "cache" fail.
  const { binaryCaches: _controllers, ...rest } = out;
  return {
    ...rest,
    providers: { ...out.providers, ec2: aws.provider },
    resources: aws.resources,
    ...(aws.prepare ? { prepare: aws.prepare } : {}),
  };
}
