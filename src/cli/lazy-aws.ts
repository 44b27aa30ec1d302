// The AWS SDK is large: load it only for deployments that have EC2 machines or cloud resources.
import { Reason } from '../api/conditions.js';
import { ReconixError } from '../core/errors.js';
import type { DeploymentState, MachinePhysical, PhysicalView, TargetRecord } from '../core/model.js';
import type {
  BinaryCaches,
  ResourceContext,
  ResourceManager,
  TargetContext,
  TargetProvider,
} from '../core/ports.js';
import type { AwsSettings } from './aws.js';

export interface AwsBundle {
  provider: TargetProvider;
  resources: ResourceManager;
  /** The S3 binary caches of copy mode "cache". */
  caches: BinaryCaches;
  /** Load the SDK if this deployment needs it; called after evaluation, before anything else touches AWS. */
  prepare(physical: PhysicalView, state: DeploymentState): Promise<void>;
}

export function needsAws(physical: PhysicalView, state: DeploymentState): boolean {
  return (
    Object.values(physical.machines).some((m) => m.targetEnv === 'ec2') ||
    Object.keys(physical.resources).length > 0 ||
    Object.keys(state.resources).length > 0 ||
    Object.values(state.machines).some((m) => m.targetEnv === 'ec2')
  );
}

export function lazyAws(stateDir: string, settings: AwsSettings): AwsBundle {
  type Loaded = { provider: TargetProvider; resources: ResourceManager; caches: BinaryCaches };
  let real: Loaded | undefined;
  let loading: Promise<Loaded> | undefined;
  const load = async () => {
    loading ??= import('./aws.js').then((m) => m.buildAws(stateDir, settings));
    real = await loading;
    return real;
  };
  const provider: TargetProvider = {
    env: 'ec2',
    creates: true,
    observe: async (deployment, machines, records, facts) =>
      (await load()).provider.observe(deployment, machines, records, facts),
    create: async (machine: MachinePhysical, ctx: TargetContext, previous?: TargetRecord) =>
      (await load()).provider.create(machine, ctx, previous),
    start: async (machine, record, ctx) => (await load()).provider.start(machine, record, ctx),
    stop: async (machine, record, ctx) => (await load()).provider.stop(machine, record, ctx),
    // Passed on as such: without it `reboot` would fall back to stopping and starting the instance.
    reboot: async (machine, record, ctx) => {
      const p = (await load()).provider;
      if (!p.reboot)
        throw new ReconixError(Reason.ProvisioningFailed, `machine ${machine}: cannot reboot in place`);
      await p.reboot(machine, record, ctx);
    },
    destroy: async (machine, record, ctx) => (await load()).provider.destroy(machine, record, ctx),
    describe: (machine, record) => {
      // prepare() has loaded the SDK for every deployment with EC2 machines before anything asks this.
      if (!real) return { exists: record !== undefined, running: false, facts: {}, detail: 'AWS not loaded' };
      return real.provider.describe(machine, record);
    },
  };
  const resources: ResourceManager = {
    reconcile: async (ctx: ResourceContext, apply: boolean) =>
      needsAws(ctx.physical, ctx.state)
        ? (await load()).resources.reconcile(ctx, apply)
        : { changes: [], facts: {} },
    destroy: async (ctx: ResourceContext, opts) =>
      needsAws(ctx.physical, ctx.state) ? (await load()).resources.destroy(ctx, opts) : [],
  };
  const caches: BinaryCaches = {
    open: async (deployment, bucket) => (await load()).caches.open(deployment, bucket),
  };
  return {
    provider,
    resources,
    caches,
    prepare: async (physical, state) => {
      if (needsAws(physical, state)) await load();
    },
  };
}
