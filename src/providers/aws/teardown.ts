// Destroying AWS resources: obsolete ones during a reconcile, all of them with the deployment. Reverse
// dependency order; buckets with persistOnDestroy are kept and forgotten.
import { Reason } from '../../api/conditions.js';
import { ReconixError } from '../../core/errors.js';
import type { ResourceRecord } from '../../core/model.js';
import { destroyChange, destructionOrder } from '../../plan/resources.js';
import type { ResourceChange, ResourceContext } from '../../core/ports.js';
import type { KindContext } from './kinds/kind.js';
import { securityGroups } from './kinds/security-groups.js';
import { keyOf, kindOf, matchRecord, observeKinds, rank } from './registry.js';
import { isAwsType } from './spec.js';

export async function destroyOne(
  kctx: KindContext,
  ctx: ResourceContext,
  r: ResourceRecord,
  opts: { deleteNonEmptyBuckets: boolean },
): Promise<void> {
  const kind = kindOf(r.type);
  if (!kind.retained?.(r)) await kind.destroy(kctx, r, opts);
  delete ctx.state.resources[keyOf(r)];
  await ctx.save();
}

/** Resources recorded but gone from the spec: destroyed with --kill-obsolete, else only reported. */
export async function obsolete(
  kctx: KindContext,
  ctx: ResourceContext,
  inSpec: (key: string) => boolean,
  o: { apply: boolean; killObsolete: boolean },
  failed: Map<string, Error>,
): Promise<ResourceChange[]> {
  const gone = Object.entries(ctx.state.resources)
    .filter(([key, r]) => isAwsType(r.type) && !inSpec(key))
    .map(([key]) => key);
  const changes: ResourceChange[] = [];
  for (const key of destructionOrder(gone, rank)) {
    const r = ctx.state.resources[key]!;
    if (!o.killObsolete) {
      changes.push({
        resource: key,
        action: 'unchanged',
        note: 'no longer in the spec (use --kill-obsolete to destroy)',
      });
      continue;
    }
    changes.push(destroyChange(key, r.id, 'no longer in the spec'));
    if (!o.apply) continue;
    try {
      await destroyOne(kctx, ctx, r, { deleteNonEmptyBuckets: false });
    } catch (err) {
      failed.set(key, err as Error);
    }
  }
  return changes;
}

/** Every AWS resource of the deployment; an error after trying them all if any could not be destroyed. */
export async function destroyAll(
  kctx: KindContext,
  ctx: ResourceContext,
  opts: { deleteNonEmptyBuckets?: boolean },
): Promise<ResourceChange[]> {
  const records = Object.values(ctx.state.resources).filter((r) => isAwsType(r.type));
  // A create cut short left a token without an id: find what it made, so that it is destroyed too.
  const pending = records.filter((r) => !r.id);
  if (pending.length > 0) {
    const found = await observeKinds(kctx, [], pending);
    for (const r of pending) {
      const region = typeof r.facts.region === 'string' ? r.facts.region : '';
      const f = matchRecord(keyOf(r), region, r, found.get(r.type) ?? []);
      if (f) r.id = f.id;
    }
  }
  await securityGroups.prepareDestroy(
    kctx,
    records.filter((r) => r.type === 'ec2SecurityGroups'),
  );
  const changes: ResourceChange[] = [];
  const errors: Error[] = [];
  for (const key of destructionOrder(records.map(keyOf), rank)) {
    const r = ctx.state.resources[key]!;
    const retained = kindOf(r.type).retained?.(r) ?? false;
    try {
      await destroyOne(kctx, ctx, r, { deleteNonEmptyBuckets: opts.deleteNonEmptyBuckets ?? false });
      changes.push(
        retained
          ? { resource: key, action: 'unchanged', note: 'kept (persistOnDestroy); forgotten' }
          : destroyChange(key, r.id),
      );
    } catch (err) {
      errors.push(err as Error);
    }
  }
  if (errors.length > 0) {
    throw new ReconixError(Reason.DestroyFailed, errors.map((e) => e.message).join('; '), {
      cause: errors[0],
    });
  }
  return changes;
}
