// The `none` target: a host that exists already, reached at deployment.targetHost. Reconix never creates or
// removes it; destroying the deployment only forgets it, as in NixOps.
import { isIP, isIPv4 } from 'node:net';
import { Reason } from '../api/conditions.js';
import { ReconixError } from '../core/errors.js';
import type { MachinePhysical, MachineRecord, TargetObservation, TargetRecord } from '../core/model.js';
import type { TargetContext, TargetProvider } from '../core/ports.js';

const HOSTNAME =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** Where a `none` machine is reached: targetHost, else (as NixOps does) the machine's name when that is a host name. */
export function targetHostOf(machine: MachinePhysical): string | undefined {
  const host = machine.targetHost ?? machine.name;
  return isIP(host) !== 0 || HOSTNAME.test(host) ? host : undefined;
}

export class NoneTargetProvider implements TargetProvider {
  readonly env = 'none';
  readonly creates = false;

  async observe(
    _deployment: string,
    machines: MachinePhysical[],
    records: Record<string, MachineRecord | undefined>,
  ): Promise<Record<string, TargetObservation>> {
    return Object.fromEntries(machines.map((m) => [m.name, this.describe(m, records[m.name]?.target)]));
  }

  async create(
    machine: MachinePhysical,
    _ctx: TargetContext,
    previous?: TargetRecord,
  ): Promise<TargetRecord> {
    this.endpointHost(machine);
    return previous ?? {};
  }

  async start(_machine: string, record: TargetRecord, _ctx?: TargetContext): Promise<TargetRecord> {
    return record;
  }

  async stop(machine: string, _record?: TargetRecord, _ctx?: TargetContext): Promise<void> {
    throw new ReconixError(
      Reason.ProvisioningFailed,
      `machine ${JSON.stringify(machine)} has targetEnv "none": Reconix does not manage its power; stop it by hand`,
      { reaction: 'stall' },
    );
  }

  async destroy(_machine?: string, _record?: TargetRecord, _ctx?: TargetContext): Promise<void> {
    // The host is not ours: forgetting it is all there is to do.
  }

  describe(machine: MachinePhysical, _record: TargetRecord | undefined): TargetObservation {
    const host = targetHostOf(machine);
    if (host === undefined) {
      return {
        exists: false,
        running: false,
        facts: {},
        detail: `deployment.targetHost is not set and ${JSON.stringify(machine.name)} is not a host name`,
      };
    }
    return {
      exists: true,
      running: true,
      endpoint: { host, port: machine.targetPort, user: machine.targetUser },
      facts: {
        ...(isIPv4(host) ? { privateIPv4: host } : {}),
        ...(machine.hostPublicKey === undefined ? {} : { hostPublicKey: machine.hostPublicKey }),
      },
    };
  }

  private endpointHost(machine: MachinePhysical): string {
    const host = targetHostOf(machine);
    if (host === undefined) {
      throw new ReconixError(
        Reason.InvalidManifest,
        `machine ${JSON.stringify(machine.name)} has targetEnv "none" but no deployment.targetHost`,
        { reaction: 'stall' },
      );
    }
    return host;
  }
}
