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
  KeyUnavailable: 'KeyUnavailable',
  KeyDeliveryFailed: 'KeyDeliveryFailed',
  Cancelled: 'Cancelled',
  RolloutFailed: 'RolloutFailed',
  RolloutPaused: 'RolloutPaused',
  HealthCheckFailed: 'HealthCheckFailed',
} as const;
export type Reason = (typeof Reason)[keyof typeof Reason];
