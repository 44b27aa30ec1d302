// Where a deployment's recorded state lives: a local store (CLI, directory mode) or the API server.
import type { DeploymentState } from '../core/model.js';

export interface StateHandle {
  readonly state: DeploymentState;
  /** Persist the current state; safe to call concurrently (writes are serialised). */
  save(): Promise<void>;
  release(): Promise<void>;
}

export interface StateBackend {
  /** Take the deployment's write lock; fails with ReconixError(StateLocked) while another writer holds it. */
  acquire(name: string, purpose: string): Promise<StateHandle>;
  /** Read without locking (may be a moment old). */
  read(name: string): Promise<DeploymentState>;
  /** Names of every deployment with recorded state. */
  list(): Promise<string[]>;
  /** Forget a deployment entirely (after destroy). */
  remove(name: string): Promise<void>;
}
