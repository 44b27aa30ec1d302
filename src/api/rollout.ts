// How a deployment rolls out: health checks that gate each machine, and waves that gate the fleet.
import { Type, type Static } from '@sinclair/typebox';
import { AnalysisGate } from './analysis.js';

const duration = (description: string) => Type.String({ pattern: '^([0-9]+(ms|s|m|h))+$', description });

/** One health check, as deployment.healthChecks declares it in Nix (nix/health-options.nix). */
export const HealthCheck = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'What reports call it.' })),
    cmd: Type.Optional(
      Type.String({ minLength: 1, description: 'A shell command run on the host; exit 0 means healthy.' }),
    ),
    http: Type.Optional(
      Type.Object(
        {
          url: Type.String({
            pattern: '^https?://',
            description: "Requested from the deployer; {{address}} is the machine's address.",
          }),
          status: Type.Optional(Type.Integer({ minimum: 100, maximum: 599, description: 'Default 200.' })),
          body: Type.Optional(Type.String({ description: 'A substring the body must contain.' })),
        },
        { additionalProperties: false },
      ),
    ),
    systemd: Type.Optional(Type.Boolean({ description: 'No failed systemd units on the host.' })),
    timeout: Type.Optional(duration('How long one attempt may take; default 10s.')),
    period: Type.Optional(duration('Time between attempts; default 2s.')),
    retries: Type.Optional(
      Type.Integer({ minimum: 0, maximum: 100, description: 'Failed attempts retried; default 3.' }),
    ),
    initialDelay: Type.Optional(duration('Wait after activation before the first attempt; default 0s.')),
  },
  { additionalProperties: false },
);
export type HealthCheck = Static<typeof HealthCheck>;

/** Which machines a wave (or a check override) takes: all of `names` (a glob) and `tags` must match. */
export const MachineSelector = Type.Object(
  {
    names: Type.Optional(Type.String({ minLength: 1, description: 'A glob (* and ?) of machine names.' })),
    tags: Type.Optional(
      Type.Array(Type.String({ minLength: 1 }), { description: 'deployment.tags, all of them.' }),
    ),
  },
  { additionalProperties: false },
);
export type MachineSelector = Static<typeof MachineSelector>;

export const Wave = Type.Object(
  {
    count: Type.Optional(Type.Integer({ minimum: 1, description: 'This many machines (of those left).' })),
    percent: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 100, description: 'This share of all machines, rounded up.' }),
    ),
    selector: Type.Optional(MachineSelector),
    bakeTime: Type.Optional(duration('Wait after the wave is healthy; default the strategy bakeTime.')),
    pause: Type.Optional(Type.Boolean({ description: 'Stop after this wave until resumed.' })),
    analysis: Type.Optional(AnalysisGate),
  },
  { additionalProperties: false },
);
export type Wave = Static<typeof Wave>;

export const RolloutStrategy = Type.Object(
  {
    canary: Type.Optional(Type.Integer({ minimum: 1, description: 'A first wave of this many machines.' })),
    waves: Type.Optional(
      Type.Array(Wave, { description: 'Ordered waves; the machines left after them form a last wave.' }),
    ),
    maxUnavailable: Type.Optional(
      Type.Integer({
        minimum: 1,
        description: 'Without waves: machines per wave (they go in parallel up to maxParallel).',
      }),
    ),
    bakeTime: Type.Optional(duration('Wait after each wave is healthy before the next starts.')),
    rollbackCompleted: Type.Optional(
      Type.Boolean({ description: 'On a failure, also roll back the waves that passed.' }),
    ),
  },
  { additionalProperties: false },
);
export type RolloutStrategy = Static<typeof RolloutStrategy>;

/** Health checks of the deployment: those of the machines they select replace the Nix-declared ones. */
export const HealthCheckOverride = Type.Object(
  {
    machines: Type.Optional(Type.String({ minLength: 1, description: 'A glob of machines; default all.' })),
    checks: Type.Array(HealthCheck),
  },
  { additionalProperties: false },
);
export type HealthCheckOverride = Static<typeof HealthCheckOverride>;
