// The AWS resource manager: key pairs, security groups, volumes, elastic IPs and buckets of a deployment,
// reconciled in dependency order before the machines, each create preceded by a recorded token.
import { Reason, ReconixError } from '../../api/conditions.js';
import type { ResourceRecord } from '../../api/model.js';
import {
  creationOrder,
  destroyChange,
  destructionOrder,
  planResource,
  toChange,
} from '../../plan/resources.js';
import {
  systemClock,
  type Clock,
  type ResourceChange,
  type ResourceContext,
  type ResourceManager,
} from '../../reconcile/ports.js';
import type { AwsClients } from './clients.js';
import type { AwsHandoff } from './handoff.js';
import { reconcileInstances } from './instances/drift.js';
import { newToken } from './instances/record.js';
import { checkReferences, parseInstance } from './instances/spec.js';
import { buckets } from './kinds/buckets.js';
import { elasticIps } from './kinds/elastic-ips.js';
import { keyPairKeyFile, keyPairs } from './kinds/key-pairs.js';
import { regionOf, type Found, type KindContext, type ResourceKind } from './kinds/kind.js';
import { securityGroups } from './kinds/security-groups.js';
import { volumes } from './kinds/volumes.js';
import type { ResourceFacts } from './refs.js';
import type { SecretStore } from './secrets.js';
import { isAwsType, parseResources, type ResourceSpec } from './spec.js';

/** In creation order: a kind may refer only to kinds before it (groups to groups, machines to any). */
const KINDS: ResourceKind[] = [keyPairs, securityGroups, volumes, elasticIps, buckets] as ResourceKind[];
const KIND = new Map(KINDS.map((k) => [k.type as string, k]));
const rank = (type: string) => KINDS.findIndex((k) => k.type === type);

export interface AwsResourceOptions {
  clients: AwsClients;
  secrets: SecretStore;
  handoff: AwsHandoff;
  clock?: Clock;
  /** Replace what AWS cannot change in place (NixOps' --allow-recreate). */
  allowRecreate?: boolean;
  /** Stop and start instances to change their type (NixOps' --allow-reboot). */
  allowReboot?: boolean;
  /** Destroy resources that left the spec. */
  killObsolete?: boolean;
}

const keyOf = (r: { type: string; name: string }) => `${r.type}.${r.name}`;

/** The AWS name of a resource, for the kinds found by name. */
function awsName(spec: ResourceSpec): string | undefined {
  if (spec.type === 'ec2KeyPairs') return spec.keyName;
  if (spec.type === 'ec2SecurityGroups') return spec.groupName;
  if (spec.type === 's3Buckets') return spec.bucketName;
  return undefined;
}

export function factsOf(resources: Record<string, ResourceRecord>): ResourceFacts {
  const facts: ResourceFacts = {};
  for (const r of Object.values(resources)) {
    if (r.id) (facts[r.type] ??= {})[r.name] = { ...r.facts, id: r.id };
  }
  return facts;
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

  async reconcile(ctx: ResourceContext, apply: boolean): Promise<ResourceChange[]> {
    const specs = parseResources(ctx.deployment, ctx.physical.resources);
    const records = Object.values(ctx.state.resources).filter((r) => isAwsType(r.type));
    const machines = Object.values(ctx.physical.machines).filter((m) => m.targetEnv === 'ec2');
    for (const m of machines) checkReferences(parseInstance(ctx.deployment, m), ctx.physical.resources);
    if (Object.keys(specs).length === 0 && records.length === 0 && machines.length === 0) return [];
    let order: string[];
    try {
      order = creationOrder(Object.values(specs));
    } catch (err) {
      throw new ReconixError(Reason.InvalidManifest, (err as Error).message, { reaction: 'stall' });
    }
    const kctx = this.kctx(ctx);
    const found = await this.observe(kctx, Object.values(specs), records);
    const changes: ResourceChange[] = [];
    const failed = new Map<string, Error>();
    for (const key of order) {
      const spec = specs[key]!;
      const blocker = spec.deps.find((d) => failed.has(d));
      if (blocker) {
        changes.push({ resource: key, action: 'unchanged', note: `skipped: ${blocker} failed` });
        failed.set(key, new Error(`skipped because ${blocker} failed`));
        continue;
      }
      try {
        changes.push(await this.one(kctx, ctx, spec, found.get(spec.type) ?? [], apply));
      } catch (err) {
        failed.set(key, err as Error);
        changes.push({ resource: key, action: 'unchanged', note: `failed: ${(err as Error).message}` });
      }
    }
    changes.push(...(await this.obsolete(kctx, ctx, specs, apply, failed)));
    this.publish(ctx);
    if (failed.size === 0) {
      const opts = { allowReboot: this.o.allowReboot ?? false, allowRecreate: this.o.allowRecreate ?? false };
      changes.push(...(await reconcileInstances({ ...opts, kctx, handoff: this.o.handoff }, ctx, apply)));
    }
    const errors = [...failed.values()].filter((e) => !e.message.startsWith('skipped because'));
    if (errors.length > 0) {
      const first = errors[0]!;
      throw new ReconixError(Reason.CloudError, errors.map((e) => e.message).join('; '), {
        cause: first,
        reaction: first instanceof ReconixError ? first.reaction : 'retry',
      });
    }
    return changes;
  }

  /** List every kind in every region it is used in, all at once. */
  private async observe(kctx: KindContext, specs: ResourceSpec[], records: ResourceRecord[]) {
    const want = new Map<string, { type: string; region: string; names: Set<string> }>();
    const add = (type: string, region: string | undefined, name?: string) => {
      if (!region) return;
      const k = `${type}\0${region}`;
      const w = want.get(k) ?? { type, region, names: new Set<string>() };
      if (name) w.names.add(name);
      want.set(k, w);
    };
    for (const s of specs) add(s.type, s.region, awsName(s));
    for (const r of records) add(r.type, regionOf(r), typeof r.facts.name === 'string' ? r.facts.name : r.id);
    const lists = await Promise.all(
      [...want.values()].map(async (w) => ({
        type: w.type,
        found: await KIND.get(w.type)!.list(kctx, w.region, [...w.names]),
      })),
    );
    const out = new Map<string, Found[]>();
    for (const l of lists) out.set(l.type, [...(out.get(l.type) ?? []), ...l.found]);
    return out;
  }

  /** The object that is this resource: by recorded id, by token, by tags, or (a create cut short) by name. */
  private match(spec: ResourceSpec, rec: ResourceRecord | undefined, found: Found[]): Found | undefined {
    const inRegion = found.filter((f) => f.facts.region === spec.region);
    const hit =
      (rec?.id && inRegion.find((f) => f.id === rec.id)) ||
      (rec?.token && inRegion.find((f) => f.token === rec.token)) ||
      inRegion.find((f) => f.logical === spec.key);
    if (hit) return hit;
    const name = awsName(spec);
    const byName = name ? inRegion.find((f) => f.awsName === name) : undefined;
    if (!byName) return undefined;
    if (rec?.token && !rec.id && !byName.logical && rec.facts.name === name)
      return { ...byName, token: rec.token };
    throw new ReconixError(
      Reason.CloudError,
      `${spec.key}: ${name} exists in AWS but is not this deployment's (no reconix:name tag for ${spec.key}); ` +
        'choose another name, or tag it to adopt it',
      { reaction: 'stall' },
    );
  }

  private async one(
    kctx: KindContext,
    ctx: ResourceContext,
    spec: ResourceSpec,
    found: Found[],
    apply: boolean,
  ): Promise<ResourceChange> {
    const kind = KIND.get(spec.type)!;
    const rec = ctx.state.resources[spec.key];
    const f = this.match(spec, rec, found);
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
      facts: { ...f.facts, region: spec.region, ...KIND.get(spec.type)!.recordFacts?.(spec) },
      createdAt: prev?.createdAt ?? this.clock.now().toISOString(),
    };
    await ctx.save();
  }

  /** Resources recorded but gone from the spec: destroyed with --kill-obsolete, else only reported. */
  private async obsolete(
    kctx: KindContext,
    ctx: ResourceContext,
    specs: Record<string, ResourceSpec>,
    apply: boolean,
    failed: Map<string, Error>,
  ): Promise<ResourceChange[]> {
    const gone = Object.entries(ctx.state.resources)
      .filter(([key, r]) => isAwsType(r.type) && !specs[key])
      .map(([key]) => key);
    const changes: ResourceChange[] = [];
    for (const key of destructionOrder(gone, rank)) {
      const r = ctx.state.resources[key]!;
      if (!this.o.killObsolete) {
        changes.push({
          resource: key,
          action: 'unchanged',
          note: 'no longer in the spec (use --kill-obsolete to destroy)',
        });
        continue;
      }
      changes.push(destroyChange(key, r.id, 'no longer in the spec'));
      if (!apply) continue;
      try {
        await this.destroyOne(kctx, ctx, r, { deleteNonEmptyBuckets: false });
      } catch (err) {
        failed.set(key, err as Error);
      }
    }
    return changes;
  }

  private async destroyOne(
    kctx: KindContext,
    ctx: ResourceContext,
    r: ResourceRecord,
    opts: { deleteNonEmptyBuckets: boolean },
  ) {
    const kind = KIND.get(r.type)!;
    if (!kind.retained?.(r)) await kind.destroy(kctx, r, opts);
    delete ctx.state.resources[keyOf(r)];
    await ctx.save();
  }

  /** Facts and key files for the instance provider, which runs next. */
  private publish(ctx: ResourceContext): void {
    const keyFiles: Record<string, string> = {};
    for (const r of Object.values(ctx.state.resources)) {
      if (r.type !== 'ec2KeyPairs' || !r.id) continue;
      const file = keyPairKeyFile(this.o.secrets, ctx.deployment, r);
      if (file) keyFiles[keyOf(r)] = file;
    }
    this.o.handoff.setResources(ctx.deployment, factsOf(ctx.state.resources), keyFiles);
  }

  async destroy(ctx: ResourceContext, opts: { deleteNonEmptyBuckets?: boolean }): Promise<ResourceChange[]> {
    const kctx = this.kctx(ctx);
    const records = Object.values(ctx.state.resources).filter((r) => isAwsType(r.type));
    // A create cut short left a token without an id: find what it made, so that it is destroyed too.
    const pending = records.filter((r) => !r.id);
    if (pending.length > 0) {
      const found = await this.observe(kctx, [], pending);
      for (const r of pending) {
        const f = (found.get(r.type) ?? []).find(
          (x) => (r.token && x.token === r.token) || x.logical === keyOf(r),
        );
        if (f) r.id = f.id;
      }
    }
    const sgs = records.filter((r) => r.type === 'ec2SecurityGroups' && !KIND.get(r.type)!.retained?.(r));
    await securityGroups.prepareDestroy(kctx, sgs);
    const changes: ResourceChange[] = [];
    const errors: Error[] = [];
    for (const key of destructionOrder(records.map(keyOf), rank)) {
      const r = ctx.state.resources[key]!;
      const retained = KIND.get(r.type)!.retained?.(r) ?? false;
      try {
        await this.destroyOne(kctx, ctx, r, { deleteNonEmptyBuckets: opts.deleteNonEmptyBuckets ?? false });
        changes.push(
          retained
            ? { resource: key, action: 'unchanged', note: 'kept (persistOnDestroy); forgotten' }
            : destroyChange(key, r.id),
        );
      } catch (err) {
        errors.push(err as Error);
        changes.push({
          resource: key,
          action: 'unchanged',
          note: `not destroyed: ${(err as Error).message}`,
        });
      }
    }
    if (errors.length > 0) {
      throw new ReconixError(Reason.DestroyFailed, errors.map((e) => e.message).join('; '), {
        cause: errors[0],
      });
    }
    return changes;
  }
}
