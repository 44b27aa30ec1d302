// Destroying AWS resources: obsolete ones during a reconcile, all of them with the deployment. Reverse
// dependency order; buckets with persistOnDestroy are kept and forgotten.
import { Reason } from '../../api/conditions.js';
import { ReconixError } from '../../core/errors.js';
import type { ResourceRecord } from '../../core/model.js';
import { destroyChange, destructionOrder } from '../../plan/resources.js';
import type { ResourceChange, ResourceContext } from '../../core/ports.js';
import { regionOf, type Found, type KindContext } from './kinds/kind.js';
import { securityGroups } from './kinds/security-groups.js';
import { keyOf, kindOf, matchRecord, observeKinds, rank } from './registry.js';
import { isAwsType } from './spec.js';

/**
 * Point each record at the object that carries this deployment's tags for it, before anything is deleted: the
 * state can be edited by others than Reconix (a ConfigMap in Kubernetes mode), so a recorded id is only a hint. A
 * recorded id that names an object without those tags is refused (logged, left alone); the object the tags name,
 * if any, takes its place, else the record keeps no id and nothing is deleted for it.
 */
export async function claimOwned(kctx: KindContext, records: readonly ResourceRecord[]): Promise<void> {
  if (records.length === 0) return;
  const found = await observeKinds(kctx, [], records);
  for (const r of records) {
    const key = keyOf(r);
    const region = regionOf(r) ?? '';
    const inRegion = (found.get(r.type) ?? []).filter((f) => f.facts.region === region);
    const tagged =
      inRegion.find((f) => f.id === r.id && f.logical === key) ?? matchOwned(key, region, r, found);
    if (r.id && tagged?.id !== r.id) {
      kctx.log.warn(
        'refusing to destroy an object that does not carry this deployment tags for the resource',
        {
          deployment: kctx.deployment,
          resource: key,
          recorded: r.id,
          ...(tagged ? { instead: tagged.id } : {}),
        },
      );
    }
    if (tagged) r.id = tagged.id;
    else delete r.id;
  }
}

/** matchRecord, limited to objects tagged as this resource of this deployment (or cut short before tagging). */
function matchOwned(key: string, region: string, r: ResourceRecord, found: Map<string, Found[]>) {
  const candidates = (found.get(r.type) ?? []).filter((f) => f.logical === key || (!f.logical && !r.id));
  const { id: _hint, ...withoutId } = r;
  return matchRecord(key, region, withoutId, candidates);
}

export async function destroyOne(
  kctx: KindContext,
  ctx: ResourceContext,
  r: ResourceRecord,
  opts: { deleteNonEmptyBuckets: boolean; claimed?: boolean },
): Promise<void> {
  const kind = kindOf(r.type);
  if (!opts.claimed) await claimOwned(kctx, [r]);
  if (!kind.retained?.(r) && r.id) await kind.destroy(kctx, r, opts);
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
  // Every record is pointed at its own tagged object; a create cut short (a token without an id) finds what it made.
  await claimOwned(kctx, records);
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
      await destroyOne(kctx, ctx, r, {
        deleteNonEmptyBuckets: opts.deleteNonEmptyBuckets ?? false,
        claimed: true,
      });
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
