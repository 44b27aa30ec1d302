// The JSON that eval-network.nix prints, checked before anything else relies on it.
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { Reason } from '../api/conditions.js';
import { HealthCheck } from '../api/rollout.js';
import { ReconixError } from '../core/errors.js';
import type { KeySpec, PhysicalView, SystemRef } from '../core/model.js';
import { isStorePath } from '../util/shell.js';

const Attrs = Type.Record(Type.String(), Type.Unknown());

const MachinePhysical = Type.Object({
  name: Type.String(),
  targetEnv: Type.String(),
  targetHost: Type.Optional(Type.String()),
  targetPort: Type.Integer(),
  targetUser: Type.String(),
  sshKeyFile: Type.Optional(Type.String()),
  hostPublicKey: Type.Optional(Type.String()),
  options: Attrs,
  keys: Type.Array(Type.String()),
  tags: Type.Optional(Type.Array(Type.String())),
  healthChecks: Type.Optional(Type.Array(HealthCheck)),
});

const Physical = Type.Object({
  description: Type.String(),
  machines: Type.Record(Type.String(), MachinePhysical),
  resources: Type.Record(Type.String(), Type.Record(Type.String(), Attrs)),
});

const Systems = Type.Record(Type.String(), Type.Object({ drvPath: Type.String(), out: Type.String() }));

const KeySpecSchema = Type.Object({
  text: Type.Optional(Type.String()),
  keyFile: Type.Optional(Type.String()),
  keyCommand: Type.Optional(Type.Array(Type.String())),
  destDir: Type.String(),
  user: Type.String(),
  group: Type.String(),
  permissions: Type.String(),
  uploadAt: Type.Union([Type.Literal('pre-activation'), Type.Literal('post-activation')]),
});
const Keys = Type.Record(Type.String(), Type.Record(Type.String(), KeySpecSchema));

function check<T extends TSchema>(schema: T, value: unknown, what: string): Static<T> {
  const first = Value.Errors(schema, value).First();
  if (first) {
    // Only the path: the value may be part of a secret.
    throw new ReconixError(
      Reason.EvaluationFailed,
      `unexpected ${what} from the evaluator at ${first.path}: ${first.message}`,
    );
  }
  return value as Static<T>;
}

export function checkPhysical(value: unknown): PhysicalView {
  return check(Physical, value, 'physical view');
}

export function checkSystems(value: unknown, machines: string[]): Record<string, SystemRef> {
  const raw = check(Systems, value, 'systems');
  const systems: Record<string, SystemRef> = {};
  for (const name of machines) {
    const s = raw[name];
    if (!s || !isStorePath(s.out) || !isStorePath(s.drvPath) || !s.drvPath.endsWith('.drv')) {
      throw new ReconixError(
        Reason.EvaluationFailed,
        `the evaluator returned no valid system for ${JSON.stringify(name)}`,
      );
    }
    systems[name] = { drvPath: s.drvPath, outPath: s.out };
  }
  return systems;
}

export function checkKeys(value: unknown, machines: string[]): Record<string, Record<string, KeySpec>> {
  const raw = check(Keys, value, 'keys');
  return Object.fromEntries(machines.map((m) => [m, raw[m] ?? {}]));
}

/**
 * One machine's part of the network's /etc/hosts and known-host lines, which every machine's system holds: its
 * address line and its host key line, each null when it has none.
 */
export interface HostEntry {
  host: string | null;
  knownHost: string | null;
}

const Line = Type.Union([Type.String(), Type.Null()]);
const HostEntries = Type.Record(Type.String(), Type.Object({ host: Line, knownHost: Line }));

/** The host entries of the given machines, each one's lines null or a single line. */
export function checkHostEntries(value: unknown, machines: string[]): Record<string, HostEntry> {
  const raw = check(HostEntries, value, 'host entries');
  const oneLine = (l: string | null) => l === null || /^[^\n]*\n$/.test(l);
  const entries: Record<string, HostEntry> = {};
  for (const name of machines) {
    const e = raw[name];
    if (!e || !oneLine(e.host) || !oneLine(e.knownHost)) {
      throw new ReconixError(
        Reason.EvaluationFailed,
        `the evaluator returned no valid host entry for ${JSON.stringify(name)}`,
      );
    }
    entries[name] = { host: e.host, knownHost: e.knownHost };
  }
  return entries;
}
