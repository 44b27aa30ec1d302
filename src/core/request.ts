// What one reconcile of one deployment is asked to do.
import type { ActivationMode, DriftPolicy } from '../api/deployment.js';
import type { HealthCheckOverride, RolloutStrategy } from '../api/rollout.js';
import type { NetworkSource } from './ports.js';
import type { ProgressSink } from './progress.js';

export interface ReconcileRequest {
  name: string;
  source: NetworkSource;
  op: 'deploy' | 'plan' | 'check';
  driftPolicy: DriftPolicy;
  mode: ActivationMode;
  maxParallel: number;
  include?: readonly string[];
  exclude?: readonly string[];
  killObsolete?: boolean;
  alwaysActivate?: boolean;
  revision?: string;
  /**
   * Stop a deploy after a stage, as NixOps' --create-only, --build-only and --copy-only: `create` makes missing
   * hosts and resources only; `build` builds every selected machine's system and creates nothing; `copy` also
   * copies the closures to the hosts (creating missing ones) but activates nothing.
   */
  stopAfter?: DeployStage;
  /**
   * Stops the reconcile at its next safe point (before connecting, before applying, between machines, before a
   * copy or an activation, never inside one); the report then says Cancelled and what is left is planned.
   */
  signal?: AbortSignal;
  /**
   * Also compute, per machine whose system changes, what changes between the system its host runs and the new
   * one (closure, /etc, units): builds the new systems, even for a plan.
   */
  diff?: boolean;
  /** Wait for a confirmation over a new connection after switch or test (default true); see src/apply/magic.ts. */
  magicRollback?: boolean;
  /** How long a host waits for that confirmation before it switches back; default 30 s. */
  confirmTimeoutMs?: number;
  /** How long switch-to-configuration may run before the host kills it and switches back; default 10 min. */
  activationTimeoutMs?: number;
  /** spec.rollout's strategy and health check overrides. */
  rollout?: { strategy?: RolloutStrategy; healthChecks?: readonly HealthCheckOverride[] };
  /** Kubernetes mode: the reconix.dev/resume annotation; a value not yet acted on resumes a paused rollout. */
  resume?: string;
  /** Run again a rollout that failed at this same revision (an explicit deploy, a new requestedAt). */
  retryFailedRollout?: boolean;
  /** Receives the reconcile's progress as it happens (src/core/progress.ts); default: dropped. */
  progress?: ProgressSink;
}

export type DeployStage = 'create' | 'build' | 'copy';
