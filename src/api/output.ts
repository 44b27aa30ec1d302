// The JSON that `plan`, `check`, `info` and `deploy` print with --json: one schema per command, the source of the
// TypeScript types the CLI builds its output with and of docs/schemas/*.schema.json (`npm run gen:schemas`; a test
// fails when those files are stale).
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { API_GROUP } from './deployment.js';
import { Reason as Reasons } from './conditions.js';

const literals = <T extends string>(values: readonly T[], description: string) =>
  Type.Union(
    values.map((v) => Type.Literal(v)),
    { description },
  );
const closed = { additionalProperties: false } as const;
const text = (description: string) => Type.String({ description });
const storePath = (description: string) => Type.String({ pattern: '^/nix/store/', description });

export const ReasonSchema = literals(
  Object.values(Reasons),
  'A condition reason, the same word Kubernetes status and metrics use.',
);

export const ErrorInfo = Type.Object(
  { reason: ReasonSchema, message: text('What went wrong, and where; never a secret.') },
  { ...closed, description: 'An error with its reason.' },
);

const ReactionSchema = literals(
  ['stall', 'wait', 'retry'],
  'What a controller does next: stall (only a change to the spec, a file or a Secret helps), wait (another ' +
    'holder; come back later) or retry (with backoff).',
);

/** A machine's failure in a report: the error and the reaction it calls for. */
const MachineFailure = Type.Object(
  { ...ErrorInfo.properties, reaction: ReactionSchema },
  { ...closed, description: 'Why this machine failed, and what a controller does next.' },
);

const DeploymentError = Type.Optional(
  Type.Object(ErrorInfo.properties, {
    ...closed,
    description:
      'Present when the deployment as a whole failed (evaluation, state, a provider), not one machine.',
  }),
);

const ReportError = Type.Optional(
  Type.Object(
    {
      ...ErrorInfo.properties,
      reaction: ReactionSchema,
      scope: literals(
        ['deployment', 'machines'],
        'deployment: the deployment as a whole failed (evaluation, state, a provider); machines: some machines did.',
      ),
    },
    { ...closed, description: 'Present exactly when ok is false.' },
  ),
);

export const MACHINE_VERDICTS = [
  'create',
  'start',
  'update',
  'drifted',
  'up-to-date',
  'unreachable',
  'held',
  'obsolete',
  'destroy',
  'unknown',
] as const;

export const MachinePlan = Type.Object(
  {
    machine: text('Machine name, as in the network files.'),
    verdict: literals(
      MACHINE_VERDICTS,
      'create: its host does not exist yet; start: the host exists but is stopped; update: its system changes; ' +
        'drifted: the host runs something other than what Reconix activated; up-to-date; unreachable: the host ' +
        'could not be reached or refused its pinned key (see note); held: kept at a rolled-back generation; ' +
        'obsolete: recorded but gone from the spec; destroy: will be destroyed (--kill-obsolete); ' +
        'unknown: not observed (see the error).',
    ),
    env: text('deployment.targetEnv: none, local, ec2.'),
    system: Type.Optional(storePath('The system this machine should run, when known.')),
    current: Type.Optional(storePath('What the host runs now, when observed.')),
    note: Type.Optional(text('Why, for verdicts that need one (the error of an unreachable host).')),
  },
  { ...closed, description: 'Where one machine stands.' },
);

const action = <K extends string>(kind: K, description: string, fields: Record<string, TSchema>) =>
  Type.Object(
    { kind: Type.Literal(kind), machine: text('The machine acted on.'), ...fields },
    { ...closed, description },
  );
const ActivationModeSchema = literals(['switch', 'boot', 'test', 'dry-activate'], 'How to activate.');

export const Action = Type.Union(
  [
    action('create-target', "Create the machine's host.", { env: text('Its targetEnv.') }),
    action('start-target', "Start the machine's stopped host.", {
      env: text('Its targetEnv.'),
      why: text('What was observed.'),
    }),
    action('destroy-target', 'Destroy the host of a machine that left the spec.', {
      env: text('Its targetEnv.'),
    }),
    action('build', "Build the machine's system here.", {
      drvPath: Type.String({ pattern: '^/nix/store/.*\\.drv$', description: 'The derivation.' }),
      outPath: storePath('The system it produces.'),
    }),
    action('copy', "Copy the paths of the system's closure that the host lacks.", {
      system: storePath('The system.'),
    }),
    action('activate', 'Set the system profile (switch, boot) and run switch-to-configuration.', {
      system: storePath('The system.'),
      mode: ActivationModeSchema,
      cause: literals(
        ['new', 'changed', 'drift', 'rollback-released'],
        'new: never activated by Reconix; changed: the spec changed; drift: correcting drift; ' +
          'rollback-released: the spec changed after a rollback.',
      ),
    }),
    action('report-drift', 'Report drift without correcting it (driftPolicy Report).', {
      expected: storePath('The system Reconix activated.'),
      actual: storePath('What the host runs.'),
    }),
    action('deliver-keys', "Write the machine's missing or changed keys over SSH (names only here).", {
      uploadAt: literals(
        ['pre-activation', 'post-activation'],
        'Before switch-to-configuration, or after it succeeded.',
      ),
      keys: Type.Array(text('A key name.'), { description: 'Keys written.' }),
      remove: Type.Array(text('A file.'), { description: 'Files of keys no longer declared, removed.' }),
      markDone: Type.Boolean({ description: 'Write /run/keys/done once the keys are in place.' }),
    }),
  ],
  { description: 'One step a deploy takes, in order.' },
);

export const ResourceChange = Type.Object(
  {
    resource: text('"<type>.<name>", e.g. "ec2KeyPairs.kp".'),
    action: literals(['create', 'update', 'replace', 'destroy', 'adopt', 'unchanged'], 'What happens to it.'),
    attributes: Type.Optional(
      Type.Record(
        Type.String(),
        Type.Array(Type.Unknown(), {
          minItems: 2,
          maxItems: 2,
          description: '[before, after]; never a secret value.',
        }),
        { description: 'Changed attributes by name.' },
      ),
    ),
    note: Type.Optional(text('Why, or what is left to do.')),
  },
  { ...closed, description: 'A change to one cloud resource, as terraform shows it.' },
);

const PlanFields = {
  machines: Type.Array(MachinePlan, {
    description: 'Every selected machine, and recorded ones gone from the spec.',
  }),
  actions: Type.Array(Action, { description: 'What deploy does, in order. Empty: nothing to do.' }),
  resources: Type.Optional(
    Type.Array(ResourceChange, { description: 'Cloud resources, when there are any.' }),
  ),
  waves: Type.Optional(
    Type.Array(
      Type.Object(
        {
          wave: Type.Integer({ minimum: 1, description: '1-based.' }),
          machines: Type.Array(Type.String(), { description: "The wave's machines." }),
        },
        { additionalProperties: false },
      ),
      { description: 'The rollout waves in order, when the deployment rolls out in waves or with checks.' },
    ),
  ),
};
const count = (what: string) => Type.Integer({ minimum: 0, description: what });
const Outcome = {
  deployment: text("The NixDeployment's name."),
  ok: Type.Boolean({ description: 'Whether the run succeeded for the deployment and every machine.' }),
  reason: ReasonSchema,
  message: text('One line saying how it went.'),
  error: DeploymentError,
};

const names = (description: string) => Type.Array(text('A name.'), { description });

export const ClosureDiff = Type.Object(
  {
    from: Type.Optional(storePath('The system the host runs now; absent when it runs none.')),
    to: storePath('The new system.'),
    paths: Type.Object(
      {
        added: count('Store paths only the new closure has.'),
        removed: count('Paths only the old one has.'),
      },
      { ...closed, description: 'Store paths added and removed, whatever their package.' },
    ),
    size: Type.Object(
      { before: count('NAR bytes of the running closure.'), after: count('NAR bytes of the new closure.') },
      { ...closed, description: 'Closure sizes, as the host and the local store record them.' },
    ),
    packages: Type.Array(
      Type.Object(
        {
          name: text('The package name, store path name without its version and output suffix.'),
          before: names('Its versions only the running closure has ("" for a path without a version).'),
          after: names('Its versions only the new closure has.'),
          sizeDelta: Type.Integer({ description: 'Change of the NAR bytes of all its paths.' }),
        },
        {
          ...closed,
          description: 'One package whose versions changed, or whose size changed by 8 KiB or more.',
        },
      ),
      { description: 'By name, as nix store diff-closures shows them.' },
    ),
    etc: Type.Object(
      {
        added: names('Files of /etc only the new system has.'),
        removed: names('Files only the running system has.'),
        changed: names('Files whose store path (or, for a plain file, content) differs.'),
      },
      { ...closed, description: "The systems' etc trees compared, paths relative to /etc." },
    ),
    units: Type.Optional(
      Type.Object(
        {
          stop: names('Units switch-to-configuration would stop.'),
          restart: names('Units it would restart.'),
          start: names('Units it would start.'),
          reload: names('Units it would reload.'),
        },
        { ...closed, description: 'What dry-activate said on the host (NixOS systems only).' },
      ),
    ),
  },
  { ...closed, description: 'What changes between the system a host runs and the new one (--diff).' },
);
export type ClosureDiff = Static<typeof ClosureDiff>;

export const PlanOutput = Type.Object(
  {
    ...Outcome,
    changes: Type.Boolean({ description: 'Whether deploy would change anything (the exit code 1 of plan).' }),
    counts: Type.Object(
      {
        create: count('Machines whose host is created.'),
        update: count('Machines whose system changes.'),
        drifted: count('Machines that drifted.'),
        unchanged: count('Machines up to date or held.'),
        unreachable: count('Machines that could not be reached.'),
      },
      { ...closed, description: 'Machines by verdict, as the text output counts them.' },
    ),
    ...PlanFields,
    diffs: Type.Optional(
      Type.Record(Type.String(), ClosureDiff, {
        description: 'With --diff: per machine whose system changes, what changes on it.',
      }),
    ),
  },
  { ...closed, description: 'What `reconix plan` would do for one deployment.' },
);
export type PlanOutput = Static<typeof PlanOutput>;

export const CheckMachine = Type.Object(
  {
    machine: text('Machine name.'),
    env: text('deployment.targetEnv.'),
    exists: Type.Boolean({ description: 'Its host exists (false: exit bit 1).' }),
    up: Type.Boolean({ description: 'Its host runs (false: exit bit 2).' }),
    reachable: Type.Boolean({
      description: 'Reconix connected with the pinned host key and observed it (false: exit bit 4).',
    }),
    drifted: Type.Boolean({ description: 'It runs something other than what Reconix activated (bit 8).' }),
    outdated: Type.Boolean({ description: 'The spec asks for a system not deployed yet (bit 16).' }),
    keysMissing: Type.Optional(
      Type.Array(text('A key name.'), {
        description: 'Declared keys missing on the host or not as declared: content, owner or mode (bit 32).',
      }),
    ),
    running: Type.Optional(storePath('What the host runs, when observed.')),
    expected: Type.Optional(storePath('What it should run, when known.')),
    error: Type.Optional(ErrorInfo),
  },
  { ...closed, description: 'The health of one machine.' },
);
export type CheckMachine = Static<typeof CheckMachine>;

export const CheckOutput = Type.Object(
  {
    deployment: text("The NixDeployment's name."),
    exitCode: Type.Integer({
      minimum: 0,
      maximum: 127,
      description:
        "This deployment's bits: 1 missing, 2 down, 4 unreachable, 8 drifted, 16 outdated, 32 keys missing or changed, 64 error.",
    }),
    machines: Type.Array(CheckMachine, { description: 'Every selected machine, by name.' }),
    error: DeploymentError,
  },
  { ...closed, description: 'What `reconix check` found for one deployment.' },
);
export type CheckOutput = Static<typeof CheckOutput>;

export const INFO_STATES = [
  'missing',
  'down',
  'unreachable',
  'error',
  'drifted',
  'outdated',
  'in-sync',
] as const;

export const InfoMachine = Type.Object(
  {
    machine: text('Machine name.'),
    target: text('deployment.targetEnv.'),
    address: Type.Optional(text('Where Reconix reaches it, when known.')),
    activated: Type.Optional(storePath('The system Reconix last activated there.')),
    generation: Type.Optional(Type.Integer({ minimum: 1, description: "That system's profile generation." })),
    held: Type.Optional(Type.Integer({ minimum: 1, description: 'The generation a rollback holds it at.' })),
    state: literals(INFO_STATES, 'The first that applies, in this order (as check sees it).'),
    lastDeploy: Type.Optional(
      Type.Object(
        {
          at: Type.String({ format: 'date-time', description: 'When.' }),
          ok: Type.Boolean({ description: 'Whether it succeeded.' }),
          message: Type.Optional(text('How it went.')),
        },
        { ...closed, description: 'The last deploy that acted on this machine.' },
      ),
    ),
  },
  { ...closed, description: 'What Reconix knows of one machine, next to what it runs now.' },
);
export type InfoMachine = Static<typeof InfoMachine>;

export const InfoOutput = Type.Object(
  {
    deployment: text("The NixDeployment's name."),
    status: Type.Optional(
      Type.Object(
        {
          at: Type.String({ format: 'date-time', description: 'When the last deploy ran.' }),
          ok: Type.Boolean({ description: 'Whether it succeeded.' }),
          reason: text('Its condition reason.'),
          message: text('How it went.'),
          revision: Type.Optional(text('The git commit it deployed (directory controller).')),
        },
        { ...closed, description: 'The last recorded reconcile; absent before the first deploy.' },
      ),
    ),
    machines: Type.Array(InfoMachine, { description: 'Every selected machine, by name.' }),
  },
  { ...closed, description: 'What `reconix info` shows for one deployment.' },
);
export type InfoOutput = Static<typeof InfoOutput>;

export const MachineReport = Type.Object(
  {
    machine: text('Machine name.'),
    env: text('deployment.targetEnv.'),
    verdict: MachinePlan.properties.verdict,
    outcome: literals(
      [
        'unchanged',
        'activated',
        'drift-corrected',
        'drift-reported',
        'failed',
        'rolled-back',
        'unreachable',
        'planned',
        'held',
        'destroyed',
        'obsolete',
      ],
      'What this run did: planned means a later deploy still has work (after --create-only, --copy-only...).',
    ),
    address: Type.Optional(text('Where it was reached.')),
    system: Type.Optional(storePath('The system it should run.')),
    current: Type.Optional(storePath('What the host runs after this run.')),
    generation: Type.Optional(Type.Integer({ minimum: 1, description: 'The profile generation activated.' })),
    created: Type.Optional(Type.Boolean({ description: 'Its host was created by this run.' })),
    lastActivation: Type.Optional(
      Type.Object(
        {
          id: text('The activation directory on the host, under /nix/var/reconix/activations.'),
          state: text(
            'What the host-side activation did: confirmed, done, rolled-back, rollback-failed, or still at it.',
          ),
          reason: Type.Optional(
            text('Why it rolled back: ActivationFailed, ActivationTimeout, ConnectivityLost.'),
          ),
        },
        {
          additionalProperties: false,
          description: 'The last activation the host records, as seen before this run.',
        },
      ),
    ),
    built: Type.Optional(Type.Boolean({ description: 'Its system was built by this run.' })),
    copied: Type.Optional(
      Type.Object(
        {
          paths: count('Store paths copied to the host.'),
          bytes: count('Bytes the controller sent to the host over SSH (0 in cache mode).'),
          mode: Type.Optional(
            Type.Union([Type.Literal('push'), Type.Literal('cache')], {
              description:
                'push: over SSH from the controller; cache: substituted by the host from the binary cache.',
            }),
          ),
          uploaded: Type.Optional(
            Type.Object(
              {
                paths: count('Store paths this copy uploaded to the binary cache.'),
                bytes: count('Bytes of their NARs.'),
              },
              {
                ...closed,
                description: 'Cache mode: what this copy uploaded (paths already there count 0).',
              },
            ),
          ),
        },
        { ...closed, description: 'What was copied; absent when nothing was.' },
      ),
    ),
    keys: Type.Optional(
      Type.Object(
        {
          missing: Type.Array(text('A key name.'), {
            description: 'Declared keys still missing or not as declared after this run.',
          }),
          delivered: Type.Array(text('A key name.'), { description: 'Keys this run wrote.' }),
          warnings: Type.Optional(
            Type.Array(text('A warning.'), { description: 'A key directory that is not a tmpfs.' }),
          ),
        },
        { ...closed, description: "The machine's declared keys, by name; absent when it has none." },
      ),
    ),
    diff: Type.Optional(ClosureDiff),
    rolledBack: Type.Optional(
      Type.Boolean({ description: 'A failed rollout switched it back to its previous generation.' }),
    ),
    error: Type.Optional(MachineFailure),
  },
  { ...closed, description: 'What one deploy did to one machine.' },
);

const WaveMachines = Type.Array(text('A machine name.'), { description: "The wave's machines." });

export const Rollout = Type.Object(
  {
    revision: text("A digest of the rollout: the machines' systems and checks, and the waves."),
    waves: Type.Array(
      Type.Object(
        {
          wave: Type.Integer({ minimum: 1, description: '1-based.' }),
          machines: WaveMachines,
          state: literals(
            ['pending', 'passed', 'failed', 'paused', 'rolled-back', 'skipped'],
            'How it went.',
          ),
        },
        closed,
      ),
    ),
    currentWave: Type.Integer({ minimum: 0, description: 'The wave running, paused after, or failed.' }),
    state: literals(['complete', 'paused', 'failed'], 'How the rollout stands after this run.'),
    failed: Type.Optional(
      Type.Object(
        {
          wave: Type.Integer({ minimum: 1 }),
          machine: text('The machine (or machines, for an analysis gate) that failed.'),
          check: text('The health check, or activation, build, analysis.'),
          message: text('What it said.'),
        },
        closed,
      ),
    ),
  },
  { ...closed, description: 'The rollout in health-gated waves, when the deployment has waves or checks.' },
);

export const DeployOutput = Type.Object(
  {
    ...Outcome,
    error: ReportError,
    op: literals(['deploy', 'plan', 'check'], 'Always deploy here.'),
    plan: Type.Object(PlanFields, { ...closed, description: 'The plan this run carried out.' }),
    machines: Type.Record(Type.String(), MachineReport, { description: 'Per machine, by name.' }),
    startedAt: Type.String({ format: 'date-time', description: 'When the run started.' }),
    durationMs: Type.Number({ minimum: 0, description: 'How long it took.' }),
    revision: Type.Optional(text('The git commit deployed (directory controller).')),
    rollout: Type.Optional(Rollout),
  },
  { ...closed, description: 'What `reconix deploy` did for one deployment.' },
);
export type DeployOutput = Static<typeof DeployOutput>;

/** The published files, by command. */
export const OUTPUT_SCHEMAS = {
  plan: PlanOutput,
  check: CheckOutput,
  info: InfoOutput,
  deploy: DeployOutput,
} as const;
export type OutputCommand = keyof typeof OUTPUT_SCHEMAS;

export const schemaFile = (command: OutputCommand): string => `docs/schemas/${command}.schema.json`;

/**
 * A command's published schema: one deployment's object, or an array of them when the manifests hold several
 * deployments and no -d picks one.
 */
export function outputSchemaDocument(command: OutputCommand): Record<string, unknown> {
  const one = { $ref: `#/$defs/${command}` };
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: `https://${API_GROUP}/schemas/${command}.schema.json`,
    title: `reconix ${command} --json`,
    description: `${OUTPUT_SCHEMAS[command].description ?? ''} One object per deployment; an array of them when several deployments are worked on.`,
    anyOf: [one, { type: 'array', items: one }],
    $defs: { [command]: JSON.parse(JSON.stringify(OUTPUT_SCHEMAS[command])) as unknown },
  };
}

export function outputSchemaJson(command: OutputCommand): string {
  return `${JSON.stringify(outputSchemaDocument(command), null, 2)}\n`;
}
