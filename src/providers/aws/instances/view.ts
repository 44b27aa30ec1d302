// What an instance looks like to the reconciler: exists, runs, where SSH reaches it, its addresses and host key.
import type { Instance } from '@aws-sdk/client-ec2';
import type { MachinePhysical, SshEndpoint, TargetObservation } from '../../../core/model.js';
import { stateOf, type InstanceRecord } from './record.js';
import type { InstanceSpec } from './spec.js';

/**
 * Where SSH reaches a machine instead of its instance's own address (a port forwarded through a bastion, an
 * address on a VPN), and the host key found there.
 */
export interface AddressOverride {
  endpoint: SshEndpoint;
  hostPublicKey: string;
}

/** The override of a machine, if it has one; may throw to refuse a machine, which then fails with that error. */
export type AddressOverrides = (machine: string) => AddressOverride | undefined;

export function observation(
  overrides: AddressOverrides,
  m: MachinePhysical,
  spec: InstanceSpec,
  rec: InstanceRecord | undefined,
  inst: Instance | undefined,
): TargetObservation {
  if (!inst) {
    const detail = rec?.instanceId ? `instance ${rec.instanceId} is gone` : 'no instance yet';
    return { exists: false, running: false, facts: {}, detail };
  }
  const id = inst.InstanceId ?? '?';
  const obs = view(overrides, m, spec, rec, inst.PrivateIpAddress, inst.PublicIpAddress);
  const state = stateOf(inst);
  if (state !== 'running') return { ...obs, running: false, detail: `instance ${id} is ${state}` };
  if (!rec?.ready || rec.instanceId !== id) {
    return {
      ...obs,
      running: false,
      detail: `instance ${id} was launched but not completed; completing it`,
    };
  }
  return {
    ...obs,
    detail: `instance ${id} (${inst.InstanceType ?? '?'}) in ${inst.Placement?.AvailabilityZone ?? spec.region}`,
  };
}

/** Endpoint and facts; the endpoint is the machine's override when it has one, else its instance's address. */
export function view(
  overrides: AddressOverrides,
  m: MachinePhysical,
  spec: InstanceSpec | undefined,
  rec: InstanceRecord | undefined,
  privateIp: string | undefined,
  publicIp: string | undefined,
): TargetObservation {
  const override = overrides(m.name);
  const hostPublicKey = override?.hostPublicKey ?? m.hostPublicKey ?? rec?.hostPublicKey;
  let endpoint: SshEndpoint | undefined = override?.endpoint;
  if (!override) {
    const host = spec?.usePrivateIpAddress ? privateIp : (publicIp ?? privateIp);
    if (host) endpoint = { host, port: m.targetPort, user: m.targetUser };
  }
  // SSH into an instance goes with its key pair's private key, unless the machine names a key file itself.
  if (!override && m.sshKeyFile === undefined && rec?.keyFile) m.sshKeyFile = rec.keyFile;
  return {
    exists: true,
    running: true,
    ...(endpoint ? { endpoint } : {}),
    facts: {
      ...(privateIp ? { privateIPv4: privateIp } : {}),
      ...(publicIp ? { publicIPv4: publicIp } : {}),
      ...(hostPublicKey ? { hostPublicKey } : {}),
    },
  };
}
