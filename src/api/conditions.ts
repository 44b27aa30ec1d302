// Condition types and reasons, and the error type that carries them.

export const ConditionType = {
  Ready: 'Ready',
  Reconciling: 'Reconciling',
  Stalled: 'Stalled',
  Drifted: 'Drifted',
} as const;

/** How the controller reacts to a failure: a human must act, wait and retry, or retry soon. */
export type Reaction = 'stall' | 'retry';

export const Reason = {
  ReconciliationSucceeded: 'ReconciliationSucceeded',
  Progressing: 'Progressing',
  Suspended: 'Suspended',
  InvalidManifest: 'InvalidManifest',
  EvaluationFailed: 'EvaluationFailed',
  BuildFailed: 'BuildFailed',
  ProvisioningFailed: 'ProvisioningFailed',
  HostUnreachable: 'HostUnreachable',
  HostKeyMismatch: 'HostKeyMismatch',
  CopyFailed: 'CopyFailed',
  ActivationFailed: 'ActivationFailed',
  PartialFailure: 'PartialFailure',
  StateLocked: 'StateLocked',
  DriftDetected: 'DriftDetected',
  NoDrift: 'NoDrift',
  RootRequired: 'RootRequired',
  CloudError: 'CloudError',
  DestroyFailed: 'DestroyFailed',
  SecretNotFound: 'SecretNotFound',
} as const;
export type Reason = (typeof Reason)[keyof typeof Reason];

/** An error that knows the condition reason it sets and whether retrying can help. */
export class ReconixError extends Error {
  readonly reason: Reason;
  readonly reaction: Reaction;
  constructor(reason: Reason, message: string, options: { cause?: unknown; reaction?: Reaction } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ReconixError';
    this.reason = reason;
    this.reaction = options.reaction ?? 'retry';
  }
}

export function reasonOf(err: unknown): Reason {
  return err instanceof ReconixError ? err.reason : Reason.ProvisioningFailed;
}
