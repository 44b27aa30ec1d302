// The AWS resource pass as the reconciler sees it: the resource manager's key pairs, groups, volumes, addresses
// and buckets first, then the ec2 target's instances, which may refer to them. Each half owns its own objects;
// the facts go from one to the other as the values they return.
import type { ResourceManager } from '../../core/ports.js';
import type { Ec2TargetProvider } from './instances/provider.js';
import type { AwsResourceManager } from './manager.js';

export function awsResourcePass(
  resources: Pick<AwsResourceManager, 'reconcile' | 'destroy'>,
  instances: Pick<Ec2TargetProvider, 'reconcile'>,
): ResourceManager {
  return {
    async reconcile(ctx, apply) {
      // A resource that failed throws here: instances are not changed against a half-made network.
      const made = await resources.reconcile(ctx, apply);
      const inst = await instances.reconcile(ctx, apply, made.facts);
      return { changes: [...made.changes, ...inst.changes], facts: inst.facts };
    },
    // Instances are terminated as machines, by the target, before the resources they use.
    destroy: (ctx, opts) => resources.destroy(ctx, opts),
  };
}
