// The AWS resource manager: key pairs, security groups, volumes, elastic IPs and buckets of a deployment,
// reconciled in dependency order before the machines, each create preceded by a recorded token. Instances are the
// ec2 target's: this returns the facts it needs about the resources.
import { Reason } from '../../api/conditions.js';
import { failureOf, ReconixError } from '../../core/errors.js';
import type { ResourceRecord } from '../../core/model.js';
import { creationOrder, planResource, toChange } from '../../plan/resources.js';
import { systemClock } from '../../core/clock.js';
import {
  type Clock,
  type ResourceChange,
  type ResourceContext,
  type ResourceManager,
} from '../../core/ports.js';
import type { AwsClients } from './clients.js';
import { SkippedResource } from './errors.js';
import type { Ec2Facts } from './facts.js';
import { newToken } from './instances/record.js';
import { keyPairKeyFile } from './kinds/key-pairs.js';
import type { Found, KindContext } from './kinds/kind.js';
import { awsName, factsOf, keyOf, kindOf, matchSpec, observeKinds } from './registry.js';
import type { SecretStore } from './secrets.js';
import { isAwsType, parseResources, type ResourceSpec } from './spec.js';
import { destroyAll, obsolete } from './teardown.js';

export { factsOf };

export interface AwsResourceOptions {
  clients: AwsClients;
  secrets: SecretStore;
  clock?: Clock;
  /** Replace what AWS cannot change in place (NixOps' --allow-recreate). */
  allowRecreate?: boolean;
  /** Destroy resources that left the spec. */
  killObsolete?: boolean;
}

export class AwsResourceManager implements ResourceManager {
  private readonly clock: Clock;

  constructor(private readonly o: AwsResourceOptions) {
    this.clock = o.clock ?? systemClock;
  }

  private kctx(ctx: ResourceContext): KindContext {
    return {
      deployment: ctx.deployment,
      clients: this.o.clients,
      secrets: this.o.secrets,
      clock: this.clock,
      log: ctx.log,
    };
  }

  async reconcile(
    ctx: ResourceContext,
    apply: boolean,
  ): Promise<{ changes: ResourceChange[]; facts: Ec2Facts }> {
    const specs = parseResources(ctx.deployment, ctx.physical.resources);
    const records = Object.values(ctx.state.resources).filter((r) => isAwsType(r.type));
    if (Object.keys(specs).length === 0 && records.length === 0)
      return { changes: [], facts: this.facts(ctx) };
    let order: string[];
    try {
      order = creationOrder(Object.values(specs));
    } catch (err) {
      throw new ReconixError(Reason.InvalidManifest, (err as Error).message, { reaction: 'stall' });
    }
    const kctx = this.kctx(ctx);
    const found = await observeKinds(kctx, Object.values(specs), records);
    const changes: ResourceChange[] = [];
    const failed = new Map<string, Error>();
    for (const key of order) {
      const spec = specs[key]!;
      const blocker = spec.deps.find((d) => failed.has(d));
      if (blocker) {
        changes.push({ resource: key, action: 'unchanged', note: `skipped: ${blocker} failed` });
        failed.set(key, new SkippedResource(key, blocker));
        continue;
      }
      try {
        changes.push(await this.one(kctx, ctx, spec, found.get(spec.type) ?? [], apply));
      } catch (err) {
        failed.set(key, err as Error);
        changes.push({ resource: key, action: 'unchanged', note: `failed: ${(err as Error).message}` });
      }
    }
    const inSpec = (key: string) => specs[key] !== undefined;
    changes.push(
      ...(await obsolete(kctx, ctx, inSpec, { apply, killObsolete: this.o.killObsolete ?? false }, failed)),
    );
    const errors = [...failed.values()].filter((e) => !(e instanceof SkippedResource));
    if (errors.length > 0) {
      const first = errors[0]!;
      throw new ReconixError(Reason.CloudError, errors.map((e) => e.message).join('; '), {
        cause: first,
        reaction: failureOf(first).reaction,
      });
    }
    return { changes, facts: this.facts(ctx) };
  }

  private async one(
    kctx: KindContext,
    ctx: ResourceContext,
    spec: ResourceSpec,
    found: Found[],
    apply: boolean,
  ): Promise<ResourceChange> {
    const kind = kindOf(spec.type);
    const rec = ctx.state.resources[spec.key];
    const f = matchSpec(spec, rec, found);
    const want = {
      key: spec.key,
      type: spec.type,
      deps: spec.deps,
      attrs: kind.desired(spec, factsOf(ctx.state.resources)),
    };
    const step = planResource(
      want,
      f && { id: f.id, attrs: f.attrs },
      rec?.id,
      kind,
      this.o.allowRecreate ?? false,
    );
    const change = toChange(step);
    if (!apply || step.blocked) return change;
    if (f && step.adopt) await this.record(ctx, spec, f);
    if (step.action === 'unchanged' && f) await this.record(ctx, spec, f);
    if (step.action === 'update' && f) {
      await this.record(ctx, spec, await kind.update(kctx, spec, f, factsOf(ctx.state.resources)));
    }
    if (step.action === 'replace' && f) {
      const old = ctx.state.resources[spec.key] ?? this.asRecord(spec, f);
      await kind.destroy(kctx, { ...old, id: f.id }, { deleteNonEmptyBuckets: false });
      delete ctx.state.resources[spec.key];
      await ctx.save();
    }
    if (step.action === 'create' || step.action === 'replace') {
      const current = ctx.state.resources[spec.key];
      const token = current?.token && !current.id ? current.token : newToken();
      const name = awsName(spec);
      ctx.state.resources[spec.key] = {
        type: spec.type,
        name: spec.name,
        token,
        facts: { region: spec.region, ...(name ? { name } : {}), ...kind.recordFacts?.(spec) },
        createdAt: this.clock.now().toISOString(),
      };
      await ctx.save(); // the token is on disk before the create call
      await this.record(ctx, spec, await kind.create(kctx, spec, factsOf(ctx.state.resources), token), token);
    }
    ctx.log.info('resource reconciled', {
      deployment: ctx.deployment,
      resource: spec.key,
      action: change.action,
    });
    return change;
  }

  private asRecord(spec: ResourceSpec, f: Found): ResourceRecord {
    return { type: spec.type, name: spec.name, id: f.id, facts: { ...f.facts, region: spec.region } };
  }

  private async record(ctx: ResourceContext, spec: ResourceSpec, f: Found, token?: string): Promise<void> {
    const prev = ctx.state.resources[spec.key];
    const tok = token ?? f.token ?? prev?.token;
    ctx.state.resources[spec.key] = {
      type: spec.type,
      name: spec.name,
      ...(tok ? { token: tok } : {}),
      id: f.id,
      facts: { ...f.facts, region: spec.region, ...kindOf(spec.type).recordFacts?.(spec) },
      createdAt: prev?.createdAt ?? this.clock.now().toISOString(),
    };
    await ctx.save();
  }

  /** What the ec2 target needs of the resources: their facts, the declared ones' regions, the key files. */
  private facts(ctx: ResourceContext): Ec2Facts {
    const keyFiles: Record<string, string> = {};
    for (const r of Object.values(ctx.state.resources)) {
      if (r.type !== 'ec2KeyPairs' || !r.id) continue;
      const file = keyPairKeyFile(this.o.secrets, ctx.deployment, r);
      if (file) keyFiles[keyOf(r)] = file;
    }
    return { resources: factsOf(ctx.state.resources), declared: declared(ctx.physical.resources), keyFiles };
  }

  async destroy(ctx: ResourceContext, opts: { deleteNonEmptyBuckets?: boolean }): Promise<ResourceChange[]> {
    return destroyAll(this.kctx(ctx), ctx, opts);
  }
}

/** The declared resources with their regions (a machine may refer only to resources of its own region). */
export function declared(resources: ResourceContext['physical']['resources']): Ec2Facts['declared'] {
  const out: Ec2Facts['declared'] = {};
  for (const [type, byName] of Object.entries(resources)) {
    for (const [name, spec] of Object.entries(byName)) {
      const region = spec.region;
      (out[type] ??= {})[name] = typeof region === 'string' ? { region } : {};
    }
  }
  return out;
}
