// Bringing a launched or found instance into its record: adopted, running, completed with what its machine asks
// for (address, volumes), and marked ready. Every path that makes an instance run ends here.
import type { Instance } from '@aws-sdk/client-ec2';
import { ec2Sdk } from '../sdk.js';
import type { Clock, TargetContext } from '../../../core/ports.js';
import type { AwsClients } from '../clients.js';
import { aws } from '../errors.js';
import type { Ec2Facts } from '../facts.js';
import type { SecretStore } from '../secrets.js';
import { completeInstance, describeInstance, userDataOf, waitState } from './ec2.js';
import { hostKeyFromUserData, hostKeySecret, stateOf, toTarget, type InstanceRecord } from './record.js';
import type { InstanceSpec } from './spec.js';

const { StartInstancesCommand } = ec2Sdk;

export interface SettleDeps {
  clients: AwsClients;
  secrets: SecretStore;
  clock: Clock;
}

/** Adopt `inst` into the record, run it, attach what the machine asks for, and mark the record ready. */
export async function settleInstance(
  o: SettleDeps,
  ctx: TargetContext,
  facts: Ec2Facts | undefined,
  machine: string,
  spec: InstanceSpec | undefined,
  rec: InstanceRecord,
  inst: Instance,
) {
  const id = inst.InstanceId!;
  const tokens = new Set([rec.token, inst.ClientToken ?? rec.token]);
  if (rec.instanceId !== id) {
    rec = { ...rec, instanceId: id, token: inst.ClientToken || rec.token };
    await ctx.save(toTarget(rec));
  }
  // The instance has its user data: the private host key is needed no more.
  for (const t of tokens) await o.secrets.remove(ctx.deployment, hostKeySecret(machine, t));
  if (!rec.hostPublicKey) {
    const key = hostKeyFromUserData(await userDataOf(o.clients, rec.region, id));
    if (key) rec = { ...rec, hostPublicKey: key };
  }
  if (stateOf(inst) === 'stopped' || stateOf(inst) === 'stopping') {
    await waitState(o.clients, o.clock, rec.region, id, ['stopped']);
    await aws(`starting ${id}`, () =>
      o.clients.ec2(rec.region).send(new StartInstancesCommand({ InstanceIds: [id] })),
    );
  }
  inst = await waitState(o.clients, o.clock, rec.region, id, ['running']);
  if (spec && (await completeInstance(o.clients, o.clock, spec, facts?.resources ?? {}, inst))) {
    inst = await describeInstance(o.clients, o.clock, rec.region, id);
  }
  rec = {
    ...rec,
    ready: true,
    ...(inst.Placement?.AvailabilityZone ? { zone: inst.Placement.AvailabilityZone } : {}),
    ...(inst.PrivateIpAddress ? { privateIp: inst.PrivateIpAddress } : {}),
    ...(inst.PublicIpAddress ? { publicIp: inst.PublicIpAddress } : {}),
  };
  await ctx.save(toTarget(rec));
  return rec;
}
