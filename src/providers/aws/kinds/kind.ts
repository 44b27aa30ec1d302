// What every kind of AWS resource offers the manager: a batched listing, the comparable attributes, create (with
// a token recorded beforehand), update in place and destroy.
import type { ResourceRecord } from '../../../core/model.js';
import type { ResourceRules } from '../../../plan/resources.js';
import type { Clock, Logger } from '../../../core/ports.js';
import type { AwsClients } from '../clients.js';
import type { ResourceFacts } from '../refs.js';
import type { SecretStore } from '../secrets.js';
import type { ResourceSpec } from '../spec.js';

export interface KindContext {
  deployment: string;
  clients: AwsClients;
  secrets: SecretStore;
  clock: Clock;
  log: Logger;
}

/** An object found in AWS. */
export interface Found {
  id: string;
  /** The logical key from its tags ("<type>.<name>"), if it has them. */
  logical?: string;
  token?: string;
  /** Its AWS name (key pair, group or bucket name), for objects looked up by name. */
  awsName?: string;
  /** Comparable attributes, in the shape `desired` returns. */
  attrs: Record<string, unknown>;
  /** What references to it resolve to; recorded in the state. Never secret. */
  facts: Record<string, unknown>;
}

export interface DestroyOptions {
  deleteNonEmptyBuckets: boolean;
}

export interface ResourceKind<S extends ResourceSpec = ResourceSpec> extends ResourceRules {
  readonly type: S['type'];
  /**
   * The deployment's objects of this kind in one region, in as few calls as the API allows (one, filtered by the
   * deployment's tag, where AWS can filter). `names` are AWS names to look up for kinds found by name.
   */
  list(ctx: KindContext, region: string, names: readonly string[]): Promise<Found[]>;
  /** The comparable attributes the spec asks for, references resolved through `facts`. */
  desired(spec: S, facts: ResourceFacts): Record<string, unknown>;
  /** Create the object; `token` is already recorded in the state. */
  create(ctx: KindContext, spec: S, facts: ResourceFacts, token: string): Promise<Found>;
  /** Bring the object's mutable attributes to the desired ones. */
  update(ctx: KindContext, spec: S, found: Found, facts: ResourceFacts): Promise<Found>;
  /** Remove the object. Idempotent: an object already gone is not an error. */
  destroy(ctx: KindContext, record: ResourceRecord, opts: DestroyOptions): Promise<void>;
  /** Facts taken from the spec rather than from AWS (a destroy policy), recorded with the resource. */
  recordFacts?(spec: S): Record<string, unknown>;
  /** Whether the object stays in AWS when the deployment is destroyed (S3's persistOnDestroy). */
  retained?(record: ResourceRecord): boolean;
}

export function regionOf(record: ResourceRecord): string | undefined {
  const r = record.facts.region;
  return typeof r === 'string' ? r : undefined;
}
