// The `ec2` target, the one owner of the deployment's instances from launch to termination: created crash-safely
// (token recorded first, looked up by token and tags before any launch), observed with one listing per region,
// host key handed over in the user data; started, stopped, rebooted, changed or replaced (drift.ts), terminated.
import { ec2Sdk } from '../sdk.js';
import { Reason } from '../../../api/conditions.js';
import { ReconixError } from '../../../core/errors.js';
import type { MachinePhysical, MachineRecord, TargetObservation, TargetRecord } from '../../../core/model.js';
import { systemClock } from '../../../core/clock.js';
import {
  type Clock,
  type ResourceChange,
  type ResourceContext,
  type ResourceFacts,
  type TargetContext,
  type TargetProvider,
} from '../../../core/ports.js';
import type { AwsClients } from '../clients.js';
import { aws } from '../errors.js';
import { readEc2Facts, type Ec2Facts } from '../facts.js';
import { generateEd25519, publicKeyOf } from '../keys.js';
import { isRef, refKey } from '../refs.js';
import type { SecretStore } from '../secrets.js';
import { describeInstance, groupIds, launchInput, listInstances, runInstance, waitState } from './ec2.js';
import {
  hostKeySecret,
  hostKeyUserData,
  matchInstance,
  newToken,
  parseInstanceRecord,
  strays,
  toTarget,
  tokenBurned,
  type InstanceRecord,
} from './record.js';
import { reconcileInstances } from './drift.js';
import { settleInstance, type SettleDeps } from './settle.js';
import { checkReferences, parseInstance, type InstanceSpec } from './spec.js';
import { observation, view, type AddressOverride, type AddressOverrides } from './view.js';

const { RebootInstancesCommand, StopInstancesCommand, TerminateInstancesCommand } = ec2Sdk;

export type { AddressOverride, AddressOverrides };

export interface Ec2ProviderOptions {
  clients: AwsClients;
  secrets: SecretStore;
  clock?: Clock;
  /** Replace an instance whose image, zone, subnet or key pair changed (NixOps' --allow-recreate). */
  allowRecreate?: boolean;
  /** Stop and start an instance to change its type (NixOps' --allow-reboot). */
  allowReboot?: boolean;
  /** Where SSH reaches a machine instead of its instance's address; default: always the instance's. */
  addressOverride?: AddressOverrides;
}

export class Ec2TargetProvider implements TargetProvider {
  readonly env = 'ec2';
  readonly creates = true;
  private readonly clock: Clock;
  /** Specs seen by observe/create, for start (whose port passes only the machine's name). */
  private readonly specs = new Map<string, InstanceSpec>();

  private readonly overrides: AddressOverrides;

  constructor(private readonly o: Ec2ProviderOptions) {
    this.clock = o.clock ?? systemClock;
    this.overrides = o.addressOverride ?? (() => undefined);
  }

  /**
   * The instances' part of the resource pass, after the resources they refer to: change or replace the instances
   * that differ from their spec, terminate duplicates. Returns the changes and the pass's facts, with the listing.
   */
  async reconcile(
    ctx: ResourceContext,
    apply: boolean,
    facts: Ec2Facts,
  ): Promise<{ changes: ResourceChange[]; facts: Ec2Facts }> {
    const { clients, secrets } = this.o;
    const drift = {
      kctx: { deployment: ctx.deployment, clients, secrets, clock: this.clock, log: ctx.log },
      allowReboot: this.o.allowReboot ?? false,
      allowRecreate: this.o.allowRecreate ?? false,
    };
    const got = await reconcileInstances(drift, ctx, apply, facts.resources);
    // The listing passed on is this pass's own, and only when it left every instance as it found it.
    const { instances: _earlier, ...rest } = facts;
    return { changes: got.changes, facts: got.instances ? { ...rest, instances: got.instances } : rest };
  }

  async observe(
    deployment: string,
    machines: MachinePhysical[],
    records: Record<string, MachineRecord | undefined>,
    passFacts: ResourceFacts,
  ): Promise<Record<string, TargetObservation>> {
    const facts = readEc2Facts(passFacts);
    const out: Record<string, TargetObservation> = {};
    const wanted: {
      m: MachinePhysical;
      spec: InstanceSpec;
      rec: InstanceRecord | undefined;
      region: string;
    }[] = [];
    for (const m of machines) {
      try {
        const spec = this.remember(deployment, m, facts);
        const rec = parseInstanceRecord(records[m.name]?.target);
        wanted.push({ m, spec, rec, region: rec?.region ?? spec.region });
      } catch (err) {
        out[m.name] = { exists: false, running: false, facts: {}, detail: (err as Error).message };
      }
    }
    const regions = [...new Set(wanted.map((w) => w.region))];
    const lists = new Map(
      await Promise.all(
        regions.map(
          async (r) =>
            [r, facts?.instances?.[r] ?? (await listInstances(this.o.clients, r, deployment))] as const,
        ),
      ),
    );
    for (const { m, spec, rec, region } of wanted) {
      const inst = matchInstance(lists.get(region) ?? [], m.name, rec);
      out[m.name] = observation(this.overrides, m, spec, rec, inst);
    }
    return out;
  }

  describe(machine: MachinePhysical, target: TargetRecord | undefined): TargetObservation {
    const rec = parseInstanceRecord(target);
    if (!rec?.instanceId) return { exists: false, running: false, facts: {} };
    let spec: InstanceSpec | undefined;
    try {
      spec = parseInstance('', machine);
    } catch {
      spec = undefined;
    }
    return {
      ...view(this.overrides, machine, spec, rec, rec.privateIp, rec.publicIp),
      running: rec.ready === true,
    };
  }

  async create(machine: MachinePhysical, ctx: TargetContext, previous?: TargetRecord): Promise<TargetRecord> {
    const facts = readEc2Facts(ctx.facts);
    const spec = this.remember(ctx.deployment, machine, facts);
    let rec = parseInstanceRecord(previous);
    if (rec && rec.region !== spec.region) rec = undefined;
    // An earlier attempt may have launched the instance: find it by id, token or name before launching anything.
    const listed = await listInstances(this.o.clients, spec.region, ctx.deployment);
    const existing = matchInstance(listed, machine.name, rec);
    const keyFile = keyFileOf(spec, facts) ?? {};
    if (existing) {
      const base = { ...(rec ?? { region: spec.region, token: '' }), ...keyFile };
      return toTarget(await settleInstance(this.deps(), ctx, facts, machine.name, spec, base, existing));
    }
    if (!rec || tokenBurned(listed, rec)) {
      if (rec) await this.o.secrets.remove(ctx.deployment, hostKeySecret(machine.name, rec.token));
      rec = { region: spec.region, token: newToken() };
    }
    rec = { region: spec.region, token: rec.token, ...keyFile };

    // The host key goes into the user data; a retry with the same token must send the very same parameters. The
    // record names the token before the key is written, so that no key is ever left behind unnamed.
    const secret = hostKeySecret(machine.name, rec.token);
    let privateKey = await this.o.secrets.read(ctx.deployment, secret);
    if (privateKey) {
      rec.hostPublicKey = publicKeyOf(privateKey);
    } else {
      const pair = generateEd25519(`root@${machine.name}`);
      rec.hostPublicKey = pair.publicKey;
      await ctx.save(toTarget(rec));
      await this.o.secrets.write(ctx.deployment, secret, pair.privateKey);
      privateKey = pair.privateKey;
    }
    const named = spec.subnetId
      ? await groupIds(
          this.o.clients,
          spec.region,
          spec.securityGroups.filter((g): g is string => typeof g === 'string'),
        )
      : new Map<string, string>();
    const input = launchInput(
      spec,
      ctx.deployment,
      facts?.resources ?? {},
      rec.token,
      hostKeyUserData(rec.hostPublicKey, privateKey!),
      named,
    );

    await ctx.save(toTarget(rec)); // the token is on disk before the launch
    const id = await runInstance(this.o.clients, spec, input);
    rec = { ...rec, instanceId: id };
    await ctx.save(toTarget(rec));
    const inst = await describeInstance(this.o.clients, this.clock, spec.region, id);
    return toTarget(await settleInstance(this.deps(), ctx, facts, machine.name, spec, rec, inst));
  }

  async start(machine: string, target: TargetRecord, ctx: TargetContext): Promise<TargetRecord> {
    // A launch that was not completed (no instance id recorded yet) is found by its token, like a stopped one.
    const spec = this.specs.get(`${ctx.deployment}\0${machine}`);
    // Without a record (a lost state) the instance is found by its tags in the machine's region.
    const rec = parseInstanceRecord(target) ?? (spec ? { region: spec.region, token: '' } : undefined);
    if (!rec) {
      throw new ReconixError(Reason.ProvisioningFailed, `machine ${machine}: no instance is recorded for it`);
    }
    const inst = matchInstance(await listInstances(this.o.clients, rec.region, ctx.deployment), machine, rec);
    if (!inst) throw new ReconixError(Reason.ProvisioningFailed, `machine ${machine}: its instance is gone`);
    return toTarget(
      await settleInstance(this.deps(), ctx, readEc2Facts(ctx.facts), machine, spec, rec, inst),
    );
  }

  async stop(machine: string, target: TargetRecord, _ctx?: TargetContext): Promise<void> {
    const rec = this.require(machine, target);
    const id = rec.instanceId!;
    await aws(`machine ${machine}: stopping ${id}`, () =>
      this.o.clients.ec2(rec.region).send(new StopInstancesCommand({ InstanceIds: [id] })),
    );
    await waitState(this.o.clients, this.clock, rec.region, id, ['stopped']);
  }

  async reboot(machine: string, target: TargetRecord): Promise<void> {
    const rec = this.require(machine, target);
    await aws(`machine ${machine}: rebooting ${rec.instanceId}`, () =>
      this.o.clients.ec2(rec.region).send(new RebootInstancesCommand({ InstanceIds: [rec.instanceId!] })),
    );
  }

  /** Terminate the machine's instance, and any duplicate of it, even one whose launch was never recorded. */
  async destroy(machine: string, target: TargetRecord, ctx: TargetContext): Promise<void> {
    const rec = parseInstanceRecord(target);
    if (!rec) return;
    const listed = await listInstances(this.o.clients, rec.region, ctx.deployment);
    const own = matchInstance(listed, machine, rec);
    const ids = [
      ...new Set([own?.InstanceId, ...strays(listed, machine, own?.InstanceId).map((i) => i.InstanceId)]),
    ].filter((x): x is string => typeof x === 'string');
    if (ids.length > 0) {
      await aws(`machine ${machine}: terminating ${ids.join(', ')}`, () =>
        this.o.clients.ec2(rec.region).send(new TerminateInstancesCommand({ InstanceIds: ids })),
      );
      for (const id of ids) await waitState(this.o.clients, this.clock, rec.region, id, ['terminated']);
    }
    await this.o.secrets.remove(ctx.deployment, hostKeySecret(machine, rec.token));
  }

  private deps(): SettleDeps {
    return { clients: this.o.clients, secrets: this.o.secrets, clock: this.clock };
  }

  /** The machine's spec, refused (for this machine alone) when it refers to a resource of another region. */
  private remember(deployment: string, m: MachinePhysical, facts: Ec2Facts | undefined): InstanceSpec {
    const spec = parseInstance(deployment, m);
    if (facts) checkReferences(spec, facts.declared);
    this.specs.set(`${deployment}\0${m.name}`, spec);
    return spec;
  }

  private require(machine: string, target: TargetRecord): InstanceRecord {
    const rec = parseInstanceRecord(target);
    if (!rec?.instanceId) {
      throw new ReconixError(Reason.ProvisioningFailed, `machine ${machine}: no instance is recorded for it`);
    }
    return rec;
  }
}

function keyFileOf(spec: InstanceSpec, facts: Ec2Facts | undefined): { keyFile: string } | undefined {
  if (spec.privateKey) return { keyFile: spec.privateKey };
  const file = isRef(spec.keyPair) ? facts?.keyFiles[refKey(spec.keyPair)] : undefined;
  return file ? { keyFile: file } : undefined;
}
