// The data the reconciler reasons about: what the spec wants, what the world is, what Reconix recorded.
import type { ActivationMode } from '../api/deployment.js';
import type { HealthCheck } from '../api/rollout.js';

/** What the script says it is doing, in `status`: a state and, once it rolled back, why. */
export type ActivationState =
  | 'activating'
  | 'awaiting-confirmation'
  | 'confirmed'
  | 'done'
  | 'rolling-back'
  | 'rolled-back'
  | 'rollback-failed';

export const ActivationReasons = ['ActivationFailed', 'ActivationTimeout', 'ConnectivityLost'] as const;
export type ActivationReason = (typeof ActivationReasons)[number];

export interface ActivationStatus {
  id: string;
  state: ActivationState;
  reason?: ActivationReason;
}

/** Where SSH reaches a machine. */
export interface SshEndpoint {
  host: string;
  port: number;
  user: string;
}

/** A reference from one spec value to a resource, as phase-1 evaluation serialises it. */
export interface ResourceRef {
  _ref: string; // "<type>.<name>", e.g. "ec2KeyPairs.kp"
}

/** One machine as phase-1 evaluation sees it: where it runs, nothing about what it runs. */
export interface MachinePhysical {
  name: string;
  targetEnv: string;
  targetHost?: string;
  targetPort: number;
  targetUser: string;
  /** Private key file on the controller used to reach this machine (none target). */
  sshKeyFile?: string;
  /** Declared host key ("ssh-ed25519 AAAA..."): pinned without trust on first use. */
  hostPublicKey?: string;
  /** Target-specific options (deployment.ec2, deployment.local), with references as ResourceRef. */
  options: Record<string, unknown>;
  /** Names of deployment.keys (their contents never leave the evaluator). */
  keys: string[];
  /** deployment.tags (colmena's): wave selectors and `--include @tag` match them. */
  tags?: string[];
  /** deployment.healthChecks, as declared. */
  healthChecks?: HealthCheck[];
}

/** Phase 1: the physical and resource view of a network, evaluated without building anything. */
export interface PhysicalView {
  description: string;
  machines: Record<string, MachinePhysical>;
  /** resources.<type>.<name> = attributes (references as ResourceRef). */
  resources: Record<string, Record<string, Record<string, unknown>>>;
}

/** Facts learnt while provisioning, injected into every machine's configuration in phase 2. */
export interface MachineFacts {
  privateIPv4?: string;
  publicIPv4?: string;
  hostPublicKey?: string;
}

export interface InfraFacts {
  machines: Record<string, MachineFacts>;
  /** resources.<type>.<name> = facts (ids, names) that references resolve to. */
  resources: Record<string, Record<string, Record<string, unknown>>>;
}

/** A machine's NixOS system: the derivation and the store path it produces. */
export interface SystemRef {
  drvPath: string;
  outPath: string;
}

/** A profile generation on a host. */
export interface Generation {
  number: number;
  path: string;
  /** Seconds since the epoch (mtime of the generation link). */
  createdAt: number;
  current: boolean;
}

/** What a host says about itself over SSH. */
export interface HostObservation {
  currentSystem?: string;
  profileSystem?: string;
  generations: Generation[];
  bootId?: string;
  /** The host's last detached activation, as its status file says. */
  lastActivation?: ActivationStatus;
}

/** What a target provider says about a machine's existence. */
export interface TargetObservation {
  exists: boolean;
  running: boolean;
  endpoint?: SshEndpoint;
  facts: MachineFacts;
  detail?: string;
}

/** Provider-specific record of a created target (a local host's directory and PID, an instance id...). */
export type TargetRecord = Record<string, unknown>;

export interface ActivationRecord {
  system: string;
  generation?: number;
  mode: ActivationMode;
  at: string;
}

/** Everything Reconix remembers about one machine. */
export interface MachineRecord {
  targetEnv: string;
  target?: TargetRecord;
  endpoint?: SshEndpoint;
  /** Pinned host key, "ssh-ed25519 AAAA...". */
  hostKey?: string;
  activated?: ActivationRecord;
  /** Set by a rollback: keep `system` while the spec still asks for `whileDesired`. */
  hold?: { system: string; whileDesired: string; generation: number };
  lastDeploy?: { at: string; ok: boolean; message?: string };
  /** The keys delivered to the machine, by name: where, when, and a keyed digest; never their content. */
  keys?: Record<string, DeliveredKey>;
}

export interface DeliveredKey {
  destDir: string;
  at: string;
  /** HMAC-SHA256 of the content with the deployment's secret (absent where there is none, in Kubernetes mode). */
  hmac?: string;
}

/** A cloud resource Reconix created or is creating. */
export interface ResourceRecord {
  type: string;
  name: string;
  /** Idempotency token recorded before the create call. */
  token?: string;
  id?: string;
  facts: Record<string, unknown>;
  createdAt?: string;
}

export interface DeploymentState {
  version: 1;
  name: string;
  machines: Record<string, MachineRecord>;
  resources: Record<string, ResourceRecord>;
  /** The rollout in waves of the last revision, so that a restarted run resumes at the right wave. */
  rollout?: RolloutRecord;
  /** Last reconcile outcome, for `info` and directory-mode status. */
  status?: { at: string; ok: boolean; reason: string; message: string; revision?: string };
}

export interface RolloutRecord {
  /** A digest of what is rolled out: every machine's system and checks, and the waves. */
  revision: string;
  waves: number;
  /** Waves done and healthy (their baking over), counted from the first. */
  done: number;
  state: 'progressing' | 'paused' | 'failed' | 'complete';
  /** Set by `reconix rollout resume`: the next run goes on after the paused wave. */
  resumeRequested?: boolean;
  /** The last resume token (the reconix.dev/resume annotation) acted on, in Kubernetes mode. */
  resumedWith?: string;
  failed?: { wave: number; machine: string; check: string; message: string };
  at: string;
}

export function emptyState(name: string): DeploymentState {
  return { version: 1, name, machines: {}, resources: {} };
}

/** One deployment.keys entry, with NixOps' defaults filled in (destDir /run/keys, root:root, 0600, pre-activation). */
export interface KeySpec {
  text?: string;
  keyFile?: string;
  keyCommand?: string[];
  destDir: string;
  user: string;
  group: string;
  permissions: string;
  uploadAt: 'pre-activation' | 'post-activation';
}
