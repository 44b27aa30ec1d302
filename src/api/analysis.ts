// An analysis gate: a Prometheus query that must hold while a rollout wave bakes, as Argo Rollouts' AnalysisTemplate.
import { Type, type Static } from '@sinclair/typebox';

const duration = (description: string) => Type.String({ pattern: '^([0-9]+(ms|s|m|h))+$', description });

export const AnalysisGate = Type.Object(
  {
    prometheus: Type.Object(
      { url: Type.String({ pattern: '^https?://', description: "Prometheus' base URL." }) },
      { additionalProperties: false },
    ),
    query: Type.String({
      minLength: 1,
      maxLength: 4096,
      description:
        "PromQL, run as an instant query at every interval. {{machines}} is replaced by a regex of the wave's machine names, {{deployment}} by the deployment's name.",
    }),
    successCondition: Type.String({
      minLength: 1,
      maxLength: 256,
      description:
        'When a measurement succeeds, e.g. "result < 0.01": result is each sample of the vector (or the scalar); comparisons <, <=, >, >=, ==, != joined by && or ||.',
    }),
    interval: Type.Optional(duration('Time between measurements; default 10s.')),
    count: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 1000, description: 'Measurements taken; default 3.' }),
    ),
    failureLimit: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 1000,
        description: 'Failed measurements tolerated before the gate fails; default 0.',
      }),
    ),
  },
  { additionalProperties: false },
);
export type AnalysisGate = Static<typeof AnalysisGate>;
