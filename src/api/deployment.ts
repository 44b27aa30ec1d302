// The NixDeployment resource: one schema serves the CRD, validation of manifests and the TypeScript types.
import { Type, type Static } from '@sinclair/typebox';
import { HealthCheckOverride, RolloutStrategy } from './rollout.js';

export const API_GROUP = 'reconix.dev';
export const API_VERSION = 'v1alpha1';
export const KIND = 'NixDeployment';

const duration = (description: string) => Type.String({ pattern: '^([0-9]+(ms|s|m|h))+$', description });

/** A map of strings. Written out so that the CRD stays structural (no patternProperties). */
const stringMap = (description: string) =>
  Type.Unsafe<Record<string, string>>({
    type: 'object',
    additionalProperties: { type: 'string' },
    description,
  });

export const ActivationMode = Type.Union(
  [Type.Literal('switch'), Type.Literal('boot'), Type.Literal('test'), Type.Literal('dry-activate')],
  { description: 'How switch-to-configuration is run on each machine.' },
);
export type ActivationMode = Static<typeof ActivationMode>;

export const DriftPolicy = Type.Union([Type.Literal('Correct'), Type.Literal('Report')], {
  description: 'Correct re-activates the desired system when a host drifts; Report only reports it.',
});
export type DriftPolicy = Static<typeof DriftPolicy>;

export const SecretKeyRef = Type.Object(
  {
    name: Type.String({
      minLength: 1,
      description: 'Name of a Secret in the namespace of the NixDeployment.',
    }),
    key: Type.String({ minLength: 1, description: 'Key within the Secret.' }),
  },
  { additionalProperties: false },
);

/** A key delivered from a Secret (Kubernetes mode), as deployment.keys.<name> delivers one from the network. */
export const KeyFromSecret = Type.Object(
  {
    machine: Type.Optional(Type.String({ minLength: 1, description: 'The machine that gets the key.' })),
    machines: Type.Optional(
      Type.String({ minLength: 1, description: 'Or a glob (* and ?) of the machines that get it.' }),
    ),
    name: Type.String({
      pattern: '^[A-Za-z0-9_][A-Za-z0-9_.@+=-]*$',
      maxLength: 255,
      description: 'File name of the key in destDir.',
    }),
    secretRef: SecretKeyRef,
    destDir: Type.Optional(Type.String({ pattern: '^/', description: 'Default /run/keys (a tmpfs).' })),
    user: Type.Optional(Type.String({ minLength: 1, description: 'Owner; default root.' })),
    group: Type.Optional(Type.String({ minLength: 1, description: 'Group; default root.' })),
    permissions: Type.Optional(Type.String({ pattern: '^0?[0-7]{3}$', description: 'Mode; default 0600.' })),
    uploadAt: Type.Optional(
      Type.Union([Type.Literal('pre-activation'), Type.Literal('post-activation')], {
        description: 'Before switch-to-configuration (default) or after it succeeded.',
      }),
    ),
  },
  { additionalProperties: false },
);
export type KeyFromSecret = Static<typeof KeyFromSecret>;

/** A Flux source whose artifact holds the network files (Kubernetes mode). */
export const SourceRef = Type.Object(
  {
    kind: Type.Union([Type.Literal('GitRepository'), Type.Literal('OCIRepository')], {
      description: 'The Flux source kind (source.toolkit.fluxcd.io).',
    }),
    name: Type.String({ minLength: 1, description: 'Name of the source object.' }),
    namespace: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          "Namespace of the source; default the NixDeployment's own (another one only if the controller allows it).",
      }),
    ),
  },
  {
    additionalProperties: false,
    description: "Take spec.network.files from this Flux source's artifact, relative to its root.",
  },
);
export type SourceRef = Static<typeof SourceRef>;

export const NixDeploymentSpec = Type.Object(
  {
    network: Type.Object(
      {
        files: Type.Optional(
          Type.Array(Type.String({ minLength: 1 }), {
            description:
              'Nix network files, merged in order. Relative to the manifest (directory mode) or the source root.',
          }),
        ),
        inline: Type.Optional(stringMap('Network files given inline: file name to Nix text.')),
        args: Type.Optional(stringMap('Arguments passed to every network file, as strings (like --argstr).')),
      },
      { additionalProperties: false, description: 'The Nix network: logical and physical files.' },
    ),
    builder: Type.Optional(
      Type.Union([Type.Literal('auto'), Type.Literal('nixos'), Type.Literal('mini')], {
        description:
          'System builder: nixos uses <nixpkgs/nixos>, mini the small builder shipped with Reconix, auto picks nixos when nixpkgs is on the Nix path.',
      }),
    ),
    evaluation: Type.Optional(
      Type.Object(
        {
          memoryBudget: Type.Optional(
            Type.String({
              pattern: '^[0-9]+([KMGT](i?B|i)?|B)?$',
              description:
                "Memory all of this deployment's nix-instantiate processes may hold at once, e.g. 1536M or 2G (binary units); the controller's --eval-memory caps it.",
            }),
          ),
        },
        { additionalProperties: false, description: 'How the systems are evaluated.' },
      ),
    ),
    interval: Type.Optional(duration('Resync period, e.g. 5m.')),
    retryInterval: Type.Optional(duration('First retry delay after a failure; doubles up to the interval.')),
    driftPolicy: Type.Optional(DriftPolicy),
    suspend: Type.Optional(Type.Boolean({ description: 'Stop reconciling this deployment.' })),
    rollout: Type.Optional(
      Type.Object(
        {
          maxParallel: Type.Optional(
            Type.Integer({
              minimum: 1,
              maximum: 1000,
              description: 'Machines copied and activated at once.',
            }),
          ),
          activation: Type.Optional(ActivationMode),
          magicRollback: Type.Optional(
            Type.Boolean({
              description:
                'Switch and test wait for a confirmation over a new SSH connection; without it the host switches back by itself. Default true.',
            }),
          ),
          confirmTimeout: Type.Optional(
            duration('How long a host waits for the confirmation before it switches back. Default 30s.'),
          ),
          activationTimeout: Type.Optional(
            duration(
              'How long switch-to-configuration may run before the host kills it and switches back. Default 10m.',
            ),
          ),
          strategy: Type.Optional(RolloutStrategy),
          healthChecks: Type.Optional(Type.Array(HealthCheckOverride)),
        },
        { additionalProperties: false },
      ),
    ),
    sourceRef: Type.Optional(SourceRef),
    sshKeySecretRef: Type.Optional(SecretKeyRef),
    awsCredentialsSecretRef: Type.Optional(
      Type.Object({ name: Type.String({ minLength: 1 }) }, { additionalProperties: false }),
    ),
    keys: Type.Optional(
      Type.Array(KeyFromSecret, {
        description:
          'Keys from Secrets of this namespace, sent to machines as deployment.keys are (Kubernetes mode only).',
      }),
    ),
  },
  { additionalProperties: false },
);
export type NixDeploymentSpec = Static<typeof NixDeploymentSpec>;

export const Condition = Type.Object({
  type: Type.String(),
  status: Type.Union([Type.Literal('True'), Type.Literal('False'), Type.Literal('Unknown')]),
  reason: Type.String(),
  message: Type.String(),
  observedGeneration: Type.Optional(Type.Integer()),
  lastTransitionTime: Type.String(),
});
export type Condition = Static<typeof Condition>;

export const MachineSummary = Type.Object({
  total: Type.Integer(),
  ready: Type.Integer(),
  drifted: Type.Integer(),
  failed: Type.Integer(),
});

export const NixDeploymentStatus = Type.Object({
  observedGeneration: Type.Optional(Type.Integer()),
  conditions: Type.Optional(Type.Array(Condition)),
  lastAppliedRevision: Type.Optional(Type.String()),
  lastAttemptedRevision: Type.Optional(Type.String()),
  /** The Flux source artifact of the last attempt, when spec.sourceRef names one. */
  source: Type.Optional(
    Type.Object({
      kind: Type.String(),
      name: Type.String(),
      namespace: Type.String(),
      revision: Type.String(),
      digest: Type.String(),
    }),
  ),
  machines: Type.Optional(MachineSummary),
  /** Bounded: at most MAX_LISTED_MACHINES entries, failing and drifted first. */
  machineStates: Type.Optional(
    Type.Array(
      Type.Object({
        name: Type.String(),
        state: Type.String(),
        system: Type.Optional(Type.String()),
        message: Type.Optional(Type.String()),
      }),
    ),
  ),
  lastHandledRequestedAt: Type.Optional(Type.String()),
});
export type NixDeploymentStatus = Static<typeof NixDeploymentStatus>;
export const MAX_LISTED_MACHINES = 50;

export interface NixDeploymentManifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; generation?: number; annotations?: Record<string, string> };
  spec: NixDeploymentSpec;
}
