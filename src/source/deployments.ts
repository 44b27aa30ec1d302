// A deployment as a source delivers it: the manifest, its resolved network and a hash of everything it reads.
import type { ActivationMode, NixDeploymentSpec } from '../api/deployment.js';
import type { DeployStage, ReconcileRequest } from '../core/request.js';
import type { NetworkSource } from '../core/ports.js';
import { parseDuration } from '../util/duration.js';

export interface LoadedDeployment {
  name: string;
  manifestPath: string;
  spec: NixDeploymentSpec;
  source: NetworkSource;
  /** Changes whenever the manifest or any Nix file next to it changes. */
  inputHash: string;
}

export interface LoadError {
  path: string;
  /** The deployment's name when the manifest got that far. */
  name?: string;
  message: string;
}

export interface LoadResult {
  deployments: LoadedDeployment[];
  errors: LoadError[];
  /** A directory held no NixDeployment manifest: what to say about it. */
  empty?: string;
}

export type Loader = (root: string) => Promise<LoadResult>;

export const DEFAULT_INTERVAL_MS = 5 * 60_000;
export const DEFAULT_RETRY_MS = 10_000;
export const DEFAULT_MAX_PARALLEL = 10;

export interface RequestOverrides {
  include?: readonly string[];
  exclude?: readonly string[];
  maxParallel?: number;
  mode?: ActivationMode;
  killObsolete?: boolean;
  alwaysActivate?: boolean;
  revision?: string;
  stopAfter?: DeployStage;
  magicRollback?: boolean;
  confirmTimeoutMs?: number;
  activationTimeoutMs?: number;
  retryFailedRollout?: boolean;
}

/** The reconcile request a manifest asks for, with command-line overrides on top. */
export function requestFor(
  name: string,
  spec: NixDeploymentSpec,
  source: NetworkSource,
  op: ReconcileRequest['op'],
  o: RequestOverrides = {},
): ReconcileRequest {
  return {
    name,
    source,
    op,
    driftPolicy: spec.driftPolicy ?? 'Correct',
    mode: o.mode ?? spec.rollout?.activation ?? 'switch',
    maxParallel: o.maxParallel ?? spec.rollout?.maxParallel ?? DEFAULT_MAX_PARALLEL,
    ...(o.include ? { include: o.include } : {}),
    ...(o.exclude ? { exclude: o.exclude } : {}),
    ...(o.killObsolete ? { killObsolete: true } : {}),
    ...(o.alwaysActivate ? { alwaysActivate: true } : {}),
    ...(o.revision ? { revision: o.revision } : {}),
    ...(o.stopAfter ? { stopAfter: o.stopAfter } : {}),
    ...(o.retryFailedRollout ? { retryFailedRollout: true } : {}),
    ...(spec.rollout?.strategy || spec.rollout?.healthChecks
      ? {
          rollout: {
            ...(spec.rollout.strategy ? { strategy: spec.rollout.strategy } : {}),
            ...(spec.rollout.healthChecks ? { healthChecks: spec.rollout.healthChecks } : {}),
          },
        }
      : {}),
    ...rolloutTimes(spec, o),
  };
}

/** The activation's safety settings: command-line overrides over the spec's; absent ones keep their defaults. */
function rolloutTimes(
  spec: NixDeploymentSpec,
  o: RequestOverrides,
): Pick<ReconcileRequest, 'magicRollback' | 'confirmTimeoutMs' | 'activationTimeoutMs'> {
  const r = spec.rollout;
  const magic = o.magicRollback ?? r?.magicRollback;
  const confirm = o.confirmTimeoutMs ?? (r?.confirmTimeout ? parseDuration(r.confirmTimeout) : undefined);
  const limit =
    o.activationTimeoutMs ?? (r?.activationTimeout ? parseDuration(r.activationTimeout) : undefined);
  return {
    ...(magic === undefined ? {} : { magicRollback: magic }),
    ...(confirm === undefined ? {} : { confirmTimeoutMs: confirm }),
    ...(limit === undefined ? {} : { activationTimeoutMs: limit }),
  };
}
