// Condition types and reasons, as status conditions, events and reports name them.

export const ConditionType = {
  Ready: 'Ready',
  Reconciling: 'Reconciling',
  Stalled: 'Stalled',
  Drifted: 'Drifted',
} as const;

export const Reason = {
  ReconciliationSucceeded: 'ReconciliationSucceeded',
  Progressing: 'Progressing',
  Suspended: 'Suspended',
  InvalidManifest: 'InvalidManifest',
  EvaluationFailed: 'EvaluationFailed',
  /** nix-instantiate did not finish within the evaluation timeout. */
  EvaluationTimeout: 'EvaluationTimeout',
  BuildFailed: 'BuildFailed',
  /** A build did not finish within the build timeout. */
  BuildTimeout: 'BuildTimeout',
  ProvisioningFailed: 'ProvisioningFailed',
  HostUnreachable: 'HostUnreachable',
  HostKeyMismatch: 'HostKeyMismatch',
  CopyFailed: 'CopyFailed',
  /** A copy to a host did not finish within the copy timeout (a host that stalls). */
  CopyTimeout: 'CopyTimeout',
  ActivationFailed: 'ActivationFailed',
  /** The host switched, heard no confirmation over a new connection, and switched back by itself. */
  ConnectivityLost: 'ConnectivityLost',
  /** switch-to-configuration ran past the activation timeout; the host killed it and switched back. */
  ActivationTimeout: 'ActivationTimeout',
  PartialFailure: 'PartialFailure',
  StateLocked: 'StateLocked',
  DriftDetected: 'DriftDetected',
  NoDrift: 'NoDrift',
  RootRequired: 'RootRequired',
  CloudError: 'CloudError',
  DestroyFailed: 'DestroyFailed',
  SecretNotFound: 'SecretNotFound',
  KeyUnavailable: 'KeyUnavailable',
  KeyDeliveryFailed: 'KeyDeliveryFailed',
  Cancelled: 'Cancelled',
  SourceNotReady: 'SourceNotReady',
  ArtifactFetchFailed: 'ArtifactFetchFailed',
  ArtifactDigestMismatch: 'ArtifactDigestMismatch',
  RolloutFailed: 'RolloutFailed',
  RolloutPaused: 'RolloutPaused',
  HealthCheckFailed: 'HealthCheckFailed',
  /** exec: the command exited with a code other than 0 on the machine. */
  CommandFailed: 'CommandFailed',
} as const;
export type Reason = (typeof Reason)[keyof typeof Reason];
