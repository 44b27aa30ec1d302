// The shape of /fleet.json, which the fleet page draws: every deployment and each of its machines, from the last
// report of each deployment and the progress of the reconcile running now. Only what the status already shows:
// names, states, reasons, messages, revisions and system paths; never a key, a credential or build output.

/** The version of this shape; a change that removes or renames a field bumps it. */
export const FLEET_VIEW_VERSION = 1;

export type DeploymentState = 'pending' | 'reconciling' | 'rolling-out' | 'ready' | 'drifted' | 'failed';

export type MachineState = 'pending' | 'rolling-out' | 'ready' | 'drifted' | 'failed' | 'obsolete';

export interface FleetRollout {
  /** The wave rolling out now, or the last one that did (1-based), of `waves`. */
  wave: number;
  waves: number;
  /** started | baking | passed | failed | paused | rolled-back (src/core/progress.ts). */
  state: string;
  machines: string[];
  reason?: string;
  message?: string;
}

export interface FleetMachine {
  name: string;
  state: MachineState;
  /** The last reconcile's outcome for it (unchanged, activated, drift-reported, failed...), when it had one. */
  outcome?: string;
  /** While a reconcile runs: the stage it is in (building, copying, activating...), as the stage reported it. */
  stage?: string;
  wave?: number;
  built?: { done: number; total: number };
  copied?: { bytes: number; total: number };
  /** What the host runs (a store path) and the system profile's generation. */
  system?: string;
  generation?: number;
  reason?: string;
  message?: string;
}

export interface FleetDeployment {
  name: string;
  state: DeploymentState;
  reason?: string;
  message?: string;
  /** The source revision (git commit) of the last reconcile. */
  revision?: string;
  /** When the last reconcile ended, ISO 8601. */
  lastReconciledAt?: string;
  durationMs?: number;
  /** Since when a reconcile is running, and the stage it reported last. */
  reconcilingSince?: string;
  stage?: string;
  rollout?: FleetRollout;
  machines: FleetMachine[];
}

export interface FleetView {
  version: typeof FLEET_VIEW_VERSION;
  generatedAt: string;
  deployments: FleetDeployment[];
}
