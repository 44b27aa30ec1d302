// What the resource manager learns in a reconcile and the instance provider needs right after it: resource facts
// (for references), key files, and the instances it listed (so each region is listed once per reconcile).
import type { Instance } from '@aws-sdk/client-ec2';
import type { ResourceFacts } from './refs.js';

export class AwsHandoff {
  private readonly facts = new Map<string, ResourceFacts>();
  private readonly keyFiles = new Map<string, Record<string, string>>();
  private readonly listed = new Map<string, Instance[]>();
  private readonly invalid = new Map<string, Record<string, Error>>();

  /** Machines whose spec is wrong in a way only the whole network shows (a reference to another region). */
  setInvalidMachines(deployment: string, errors: Record<string, Error>): void {
    this.invalid.set(deployment, errors);
  }

  invalidMachine(deployment: string, machine: string): Error | undefined {
    return this.invalid.get(deployment)?.[machine];
  }

  setResources(deployment: string, facts: ResourceFacts, keyFiles: Record<string, string>): void {
    this.facts.set(deployment, facts);
    this.keyFiles.set(deployment, keyFiles);
  }

  resources(deployment: string): ResourceFacts {
    return this.facts.get(deployment) ?? {};
  }

  /** The private key file of a managed key pair ("ec2KeyPairs.<name>"). */
  keyFile(deployment: string, key: string): string | undefined {
    return this.keyFiles.get(deployment)?.[key];
  }

  /** Offer a fresh listing of a region's instances to the next observe of the same deployment. */
  offerInstances(deployment: string, region: string, instances: Instance[]): void {
    this.listed.set(`${deployment}\0${region}`, instances);
  }

  /** Take an offered listing (once); undefined when there is none. */
  takeInstances(deployment: string, region: string): Instance[] | undefined {
    const key = `${deployment}\0${region}`;
    const got = this.listed.get(key);
    this.listed.delete(key);
    return got;
  }

  /** Drop offered listings of a deployment (after changing instances, they are stale). */
  forgetInstances(deployment: string): void {
    for (const k of [...this.listed.keys()]) if (k.startsWith(`${deployment}\0`)) this.listed.delete(k);
  }
}
