// Provisioning the cloud resources machines refer to (key pairs, security groups, volumes, buckets).
import type { PhysicalView } from '../core/model.js';
import type { ResourceContext, ResourceOutcome } from '../core/ports.js';
import type { RunContext, StateDoc } from '../observe/run.js';

export function resourceContext(ctx: RunContext, doc: StateDoc, physical: PhysicalView): ResourceContext {
  return {
    deployment: ctx.req.name,
    physical,
    state: doc.state,
    save: () => doc.persist(),
    log: ctx.deps.log,
  };
}

/**
 * Observe the resources and, when `apply`, make them as the spec says. The manager decides whether it has work:
 * machines' cloud attributes (an instance type) are its business too. What it learns for the targets is handed
 * on as a value.
 */
export async function reconcileResources(
  ctx: RunContext,
  doc: StateDoc,
  physical: PhysicalView,
  apply: boolean,
): Promise<ResourceOutcome> {
  const manager = ctx.deps.resources;
  if (!manager) return { changes: [], facts: {} };
  return manager.reconcile(resourceContext(ctx, doc, physical), apply);
}
