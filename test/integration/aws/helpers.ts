// Shared set-up of the AWS tests: moto, a manager and an ec2 provider on a temporary state, machines as data.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  emptyState,
  type DeploymentState,
  type MachinePhysical,
  type PhysicalView,
} from '../../../src/core/model.js';
import {
  AwsHandoff,
  AwsResourceManager,
  Ec2TargetProvider,
  FileSecretStore,
  type AddressOverride,
  type AwsClients,
} from '../../../src/providers/aws/index.js';
import type { Clock, ResourceContext, TargetContext } from '../../../src/core/ports.js';
import { silentLogger } from '../../../src/util/log.js';
import { CallCounter } from '../../support/aws-hooks.js';
import { motoInstalled, startMoto, type Moto } from '../../support/moto.js';

/** A clock that does not wait: moto is immediate, and a test must not sleep. */
export const fastClock: Clock = { now: () => new Date(), sleep: () => new Promise((r) => setImmediate(r)) };

/**
 * Start moto once per file (skipping the file when it is not installed) and reset it before each test, or only
 * once for suites whose tests build on each other.
 */
export function useMoto(ctx: Mocha.Suite, opts: { resetEach?: boolean } = {}): () => Moto {
  let moto: Moto | undefined;
  ctx.beforeAll(async function () {
    if (!motoInstalled()) this.skip();
    moto = await startMoto();
  });
  ctx.beforeEach(async () => {
    if (opts.resetEach !== false) await moto?.reset();
  });
  ctx.afterAll(async () => {
    await moto?.stop();
  });
  return () => moto!;
}

export function ec2Machine(name: string, ec2: Record<string, unknown>): MachinePhysical {
  return { name, targetEnv: 'ec2', targetPort: 22, targetUser: 'root', options: { ec2 }, keys: [] };
}

export function view(
  resources: PhysicalView['resources'] = {},
  machines: MachinePhysical[] = [],
): PhysicalView {
  return { description: 'test', resources, machines: Object.fromEntries(machines.map((m) => [m.name, m])) };
}

export interface AwsWorld {
  clients: AwsClients;
  counter: CallCounter;
  handoff: AwsHandoff;
  secrets: FileSecretStore;
  secretsDir: string;
  state: DeploymentState;
  saves: number;
  manager(opts?: {
    allowRecreate?: boolean;
    allowReboot?: boolean;
    killObsolete?: boolean;
  }): AwsResourceManager;
  provider(overrides?: Record<string, AddressOverride>): Ec2TargetProvider;
  ctx(physical: PhysicalView): ResourceContext;
  targetCtx(machine: string): TargetContext;
  cleanup(): Promise<void>;
}

export async function world(moto: Moto, deployment = 'test'): Promise<AwsWorld> {
  const counter = new CallCounter();
  const clients = moto.clients([counter]);
  const secretsDir = await mkdtemp(join(tmpdir(), 'reconix-aws-secrets-'));
  const secrets = new FileSecretStore(secretsDir);
  const handoff = new AwsHandoff();
  const w: AwsWorld = {
    clients,
    counter,
    handoff,
    secrets,
    secretsDir,
    state: emptyState(deployment),
    saves: 0,
    manager: (opts = {}) => new AwsResourceManager({ clients, secrets, handoff, clock: fastClock, ...opts }),
    provider: (overrides = {}) =>
      new Ec2TargetProvider({
        clients,
        secrets,
        handoff,
        clock: fastClock,
        addressOverride: (m) => overrides[m],
      }),
    ctx: (physical) => ({
      deployment,
      physical,
      state: w.state,
      save: async () => {
        w.saves++;
      },
      log: silentLogger,
    }),
    targetCtx: (machine) => ({
      deployment,
      clientPublicKey: '',
      save: async (record) => {
        (w.state.machines[machine] ??= { targetEnv: 'ec2' }).target = record;
        w.saves++;
      },
    }),
    cleanup: () => rm(secretsDir, { recursive: true, force: true }),
  };
  return w;
}
