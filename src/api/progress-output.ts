// The events `reconix deploy --json` prints, one JSON object per line, before its report (the last line): the
// schema of each line (docs/schemas/events.schema.json, written by `npm run gen:schemas`). It describes
// src/core/progress.ts's ProgressEvent exactly: test/unit/cli/json-schemas.test.ts fails to compile otherwise.
import { Type } from '@sinclair/typebox';
import { API_GROUP } from './deployment.js';

const closed = { additionalProperties: false } as const;
const text = (description: string) => Type.String({ description });
const at = Type.String({ format: 'date-time', description: 'When it happened.' });
const literals = <const T extends string>(values: readonly T[], description: string) =>
  Type.Union(
    values.map((v) => Type.Literal(v)),
    { description },
  );
const count = (description: string) => Type.Integer({ minimum: 0, description });
const reason = Type.Optional(text('A condition reason on failure or rollback, e.g. ActivationFailed.'));
const message = Type.Optional(text('What went wrong; never a secret.'));

/** Where one machine is in a reconcile, in the order a deploy goes through them, the final ones last. */
export const MACHINE_STAGES = [
  'evaluating',
  'building',
  'copying',
  'activating',
  'checking',
  'confirming',
  'rolling-back',
  'running',
  'done',
  'failed',
  'rolled-back',
  'skipped',
] as const;

const DeploymentEvent = Type.Object(
  {
    type: Type.Literal('deployment'),
    deployment: text("The NixDeployment's name."),
    stage: literals(
      ['started', 'evaluating', 'building', 'applying', 'done', 'failed'],
      'Where the deployment as a whole is.',
    ),
    at,
    reason,
    message,
  },
  { ...closed, description: 'The deployment entered a stage.' },
);

const MachineEvent = Type.Object(
  {
    type: Type.Literal('machine'),
    deployment: text("The NixDeployment's name."),
    machine: text('The machine.'),
    stage: literals(
      MACHINE_STAGES,
      "Where the machine is; running is exec's command; done, failed, rolled-back and skipped are final.",
    ),
    at,
    built: Type.Optional(
      Type.Object(
        { done: count('Derivations built so far.'), total: count('Derivations to build.') },
        {
          ...closed,
          description: 'Building: the count of the one Nix call that builds every changed system.',
        },
      ),
    ),
    copied: Type.Optional(
      Type.Object(
        {
          bytes: count('Bytes sent (push) or uploaded to the cache (cache) so far.'),
          total: count('NAR bytes of the paths the host lacks (push) or this copy uploads (cache).'),
          mode: Type.Optional(
            Type.Union([Type.Literal('push'), Type.Literal('cache')], {
              description:
                'push: over SSH from the controller; cache: uploaded to the binary cache, then substituted by the host.',
            }),
          ),
        },
        { ...closed, description: 'Copying: bytes sent, a few updates a second.' },
      ),
    ),
    wave: Type.Optional(Type.Integer({ minimum: 1, description: 'The rollout wave the machine is in.' })),
    exitCode: Type.Optional(
      Type.Integer({ minimum: 0, description: "exec: the command's exit code (255: ssh itself failed)." }),
    ),
    reason,
    message,
  },
  { ...closed, description: 'A machine entered a stage, or its counts moved on.' },
);

const WaveEvent = Type.Object(
  {
    type: Type.Literal('wave'),
    deployment: text("The NixDeployment's name."),
    wave: Type.Integer({ minimum: 1, description: '1-based.' }),
    waves: Type.Integer({ minimum: 1, description: 'How many waves the rollout has.' }),
    machines: Type.Readonly(Type.Array(Type.String(), { description: 'The machines of the wave.' })),
    state: literals(['started', 'baking', 'passed', 'failed', 'paused', 'rolled-back'], 'The wave now.'),
    at,
    reason,
    message,
  },
  { ...closed, description: 'A rollout wave changed state.' },
);

const OutputEvent = Type.Object(
  {
    type: Type.Literal('output'),
    deployment: text("The NixDeployment's name."),
    machine: Type.Optional(
      text('The machine whose activation or command printed it; absent for build output.'),
    ),
    stream: literals(
      ['build', 'activation', 'stdout', 'stderr'],
      "What printed it: nix-store --realise, switch-to-configuration, or exec's command on its stdout or stderr.",
    ),
    line: text('One line as printed.'),
    at,
  },
  {
    ...closed,
    description: "A line of build or activation output (only with -v), or of exec's command (exec --json).",
  },
);

export const ProgressEventSchema = Type.Union([DeploymentEvent, MachineEvent, WaveEvent, OutputEvent], {
  description:
    'One line of `reconix deploy --json` before the last: an event, with its `type`. The last line is the ' +
    'report (docs/schemas/deploy.schema.json), which has no `type`. `reconix exec --json` prints events only.',
});

export const EVENTS_SCHEMA_FILE = 'docs/schemas/events.schema.json';

export function eventsSchemaJson(): string {
  const doc = {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: `https://${API_GROUP}/schemas/events.schema.json`,
    title: 'reconix deploy --json events',
    ...(JSON.parse(JSON.stringify(ProgressEventSchema)) as Record<string, unknown>),
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}
