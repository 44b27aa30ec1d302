// Shared set-up of the AWS tests: moto, a manager and an ec2 provider on a temporary state, machines as data.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  emptyState,
  type DeploymentState,
  type MachinePhysical,
  type PhysicalView,
} from '../../../src/core/model.js';
import {
  AwsResourceManager,
  awsResourcePass,
  Ec2TargetProvider,
  FileSecretStore,
  type AddressOverride,
  type AwsClients,
} from '../../../src/providers/aws/index.js';
import type {
  Clock,
  ResourceContext,
  ResourceFacts,
  ResourceManager,
  TargetContext,
} from '../../../src/core/ports.js';
import { silentLogger } from '../../../src/util/log.js';
import { CallCounter } from '../../support/aws-hooks.js';
import type { TestHost } from '../../support/hosts.js';
import { MOTO_ENV, motoInstalled, startMoto, type Moto } from '../../support/moto.js';

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

/**
 * Before each test, a fresh world on `moto` (empty state, a new secrets directory, a counter of its calls), whose
 * files are removed after the test. What it returns stands for the world of the test that runs.
 */
export function useWorld(ctx: Mocha.Suite, moto: () => Moto): AwsWorld {
  let current: AwsWorld | undefined;
  ctx.beforeEach(async () => {
    current = await world(moto());
  });
  ctx.afterEach(async () => {
    await current?.cleanup();
    current = undefined;
  });
  const now = () => {
    if (!current) throw new Error('the AWS world exists only while a test runs');
    return current;
  };
  return new Proxy({} as AwsWorld, {
    get: (_, key) => Reflect.get(now(), key),
    set: (_, key, value) => Reflect.set(now(), key, value),
  });
}

/**
 * Bind each EC2 machine to its local test host for the test entry point (test/support/reconix-test-cli.ts): the
 * address map is written to `dir`/map.json; returns the environment that points the entry point at that map and
 * at AWS on `endpoint`.
 */
export async function bindToHosts(
  dir: string,
  hosts: Record<string, TestHost>,
  endpoint: string,
): Promise<Record<string, string>> {
  const map = Object.fromEntries(
    Object.entries(hosts).map(([m, h]) => [
      m,
      { host: h.address, port: h.port, user: 'root', hostPublicKey: h.hostKey },
    ]),
  );
  await writeFile(join(dir, 'map.json'), JSON.stringify(map));
  return { ...MOTO_ENV, AWS_ENDPOINT_URL: endpoint, TEST_CLI_ADDRESS_MAP: join(dir, 'map.json') };
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

export interface PassOptions {
  allowRecreate?: boolean;
  allowReboot?: boolean;
  killObsolete?: boolean;
}

/**
 * Facts as a later observation sees them, once the target pass changed instances: the pass's listing is stale.
 */
export function afterTargets(facts: ResourceFacts): ResourceFacts {
  const { instances: _listed, ...rest } = facts;
  return rest;
}

export interface AwsWorld {
  clients: AwsClients;
  counter: CallCounter;
  secrets: FileSecretStore;
  secretsDir: string;
  state: DeploymentState;
  saves: number;
  /** The resource pass as the command line builds it: the resource manager, then the ec2 target's instances. */
  manager(opts?: PassOptions): ResourceManager;
  provider(overrides?: Record<string, AddressOverride>, opts?: PassOptions): Ec2TargetProvider;
  ctx(physical: PhysicalView): ResourceContext;
  /** What a target call gets: `facts` are what the resource pass returned (none by default). */
  targetCtx(machine: string, facts?: ResourceFacts): TargetContext;
  cleanup(): Promise<void>;
}

export async function world(moto: Moto, deployment = 'test'): Promise<AwsWorld> {
  const counter = new CallCounter();
  const clients = moto.clients([counter]);
  const secretsDir = await mkdtemp(join(tmpdir(), 'reconix-aws-secrets-'));
  const secrets = new FileSecretStore(secretsDir);
  const w: AwsWorld = {
    clients,
    counter,
    secrets,
    secretsDir,
    state: emptyState(deployment),
    saves: 0,
    manager: (opts = {}) => {
      const { allowReboot, ...resources } = opts;
      const manager = new AwsResourceManager({ clients, secrets, clock: fastClock, ...resources });
      const reboot = allowReboot === undefined ? {} : { allowReboot };
      const recreate = opts.allowRecreate === undefined ? {} : { allowRecreate: opts.allowRecreate };
      return awsResourcePass(manager, w.provider({}, { ...reboot, ...recreate }));
    },
    provider: (overrides = {}, opts = {}) =>
      new Ec2TargetProvider({
        clients,
        secrets,
        clock: fastClock,
        addressOverride: (m) => overrides[m],
        ...opts,
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
    targetCtx: (machine, facts = {}) => ({
      deployment,
      clientPublicKey: '',
      facts,
      save: async (record) => {
        (w.state.machines[machine] ??= { targetEnv: 'ec2' }).target = record;
        w.saves++;
      },
    }),
    cleanup: () => rm(secretsDir, { recursive: true, force: true }),
  };
  return w;
}
