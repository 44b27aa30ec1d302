// What the AWS resource pass hands the ec2 target, as the value it returns: the core passes it on untouched, so the
// target checks its shape before it reads it.
import type { Instance } from '@aws-sdk/client-ec2';
import { Reason } from '../../api/conditions.js';
import { ReconixError } from '../../core/errors.js';
import type { ResourceFacts as PassFacts } from '../../core/ports.js';
import type { ResourceFacts } from './refs.js';

export type Ec2Facts = {
  /** Created resources, what references resolve to: resources.<type>.<name> = { id, name, region, ... }. */
  resources: ResourceFacts;
  /** Every resource the network declares, with its region: declared.<type>.<name> = { region }. */
  declared: Record<string, Record<string, { region?: string }>>;
  /** The private key file of each managed key pair, by "ec2KeyPairs.<name>". */
  keyFiles: Record<string, string>;
  /**
   * The deployment's instances by region, as the pass listed them when it changed none: the observation right
   * after the pass needs no listing of its own. Absent when the pass listed nothing or changed an instance.
   */
  instances?: Record<string, Instance[]>;
};

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const recordOf = (v: unknown, each: (x: unknown) => boolean): boolean =>
  isRecord(v) && Object.values(v).every(each);

const isInstance = (v: unknown): boolean =>
  isRecord(v) && (v.InstanceId === undefined || typeof v.InstanceId === 'string');

/** Whether a value has the shape of the ec2 target's facts. */
export function isEc2Facts(v: unknown): v is Ec2Facts {
  if (!isRecord(v)) return false;
  const fields = (x: unknown) => recordOf(x, (f) => recordOf(f, isRecord));
  const region = (x: unknown) => isRecord(x) && (x.region === undefined || typeof x.region === 'string');
  return (
    fields(v.resources) &&
    recordOf(v.declared, (t) => recordOf(t, region)) &&
    recordOf(v.keyFiles, (f) => typeof f === 'string') &&
    (v.instances === undefined || recordOf(v.instances, (l) => Array.isArray(l) && l.every(isInstance)))
  );
}

/**
 * The ec2 target's facts in what a reconcile passed on: undefined when no AWS resource pass ran (`{}`: destroy,
 * power), an error when they are something else than that pass returns.
 */
export function readEc2Facts(facts: PassFacts | undefined): Ec2Facts | undefined {
  if (facts === undefined || Object.keys(facts).length === 0) return undefined;
  if (isEc2Facts(facts)) return facts;
  throw new ReconixError(
    Reason.ProvisioningFailed,
    `the ec2 target was given resource facts it does not know (fields: ${Object.keys(facts).join(', ')}); ` +
      'they come from the AWS resource manager',
  );
}
