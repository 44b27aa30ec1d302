// The AWS resource manager: key pairs, security groups, volumes, elastic IPs and buckets of a deployment,
// reconciled before the machines, one dependency level after the other and a few of a level at once, each create
// preceded by a recorded token. Instances are the ec2 target's: this returns the facts it needs about the resources.
import pLimit from 'p-limit';
import { Reason } from '../../api/conditions.js';
import { failureOf, ReconixError } from '../../core/errors.js';
import type { ResourceRecord } from '../../core/model.js';
import { creationOrder, planResource, toChange } from '../../plan/resources.js';
import { systemClock } from '../../core/clock.js';
import { canonicalJson } from '../../util/json.js';
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
import type { ResourceFacts } from './refs.js';
import { awsName, factsOf, FoundIndex, keyOf, kindOf, matchSpec, observeKinds, setFact } from './registry.js';
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
  /** Resources of one dependency level reconciled at once (default 16). */
  parallel?: number;
}

/** AWS (and moto) throttle: a few calls at once, each retried with backoff by the client, are enough. */
const PARALLEL = 16;

/** One reconcile of the resources: what every resource's step reads and writes. */
interface Pass {
  ctx: ResourceContext;
  kctx: KindContext;
  apply: boolean;
  /** What references resolve to, kept in line with the records as they are written. */
  facts: ResourceFacts;
  /**
   * Saves of what AWS answered, waited for once at the end: a record without its id is found again by its token,
   * so only the token's save must come before the next call, and one write covers the answers of many resources.
   */
  answered: Set<Promise<void>>;
}

/** The keys in creation order, by depth: a resource's level comes after the levels of all it refers to. */
function levels(order: readonly string[], specs: Record<string, ResourceSpec>): string[][] {
  const depth = new Map<string, number>();
  const out: string[][] = [];
  for (const key of order) {
    let d = 0;
    for (const dep of specs[key]!.deps) {
      const x = dep === key ? undefined : depth.get(dep);
      if (x !== undefined) d = Math.max(d, x + 1);
    }
    depth.set(key, d);
    (out[d] ??= []).push(key);
  }
  return out;
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
    const observed = await observeKinds(kctx, Object.values(specs), records);
    const found = new Map([...observed].map(([type, list]) => [type, new FoundIndex(list)]));
    const none = new FoundIndex([]);
    const pass: Pass = { ctx, kctx, apply, facts: factsOf(ctx.state.resources), answered: new Set() };
    const done = new Map<string, ResourceChange>();
    const failed = new Map<string, Error>();
    const limit = pLimit(Math.max(1, this.o.parallel ?? PARALLEL));
    // One level at a time, its resources at once: everything a resource refers to is made (or failed) before it.
    for (const level of levels(order, specs)) {
      await Promise.all(
        level.map((key) =>
          limit(async () => {
            const spec = specs[key]!;
            const blocker = spec.deps.find((d) => failed.has(d));
            if (blocker) {
              done.set(key, { resource: key, action: 'unchanged', note: `skipped: ${blocker} failed` });
              failed.set(key, new SkippedResource(key, blocker));
              return;
            }
            try {
              done.set(key, await this.one(pass, spec, found.get(spec.type) ?? none));
            } catch (err) {
              failed.set(key, err as Error);
              done.set(key, {
                resource: key,
                action: 'unchanged',
                note: `failed: ${(err as Error).message}`,
              });
            }
          }),
        ),
      );
    }
    await Promise.all(pass.answered);
    const changes = order.map((key) => done.get(key)!);
    // In creation order, whichever finished first: the error says the same for the same failures.
    const failures = new Map(order.filter((k) => failed.has(k)).map((k) => [k, failed.get(k)!]));
    const inSpec = (key: string) => specs[key] !== undefined;
    changes.push(
      ...(await obsolete(kctx, ctx, inSpec, { apply, killObsolete: this.o.killObsolete ?? false }, failures)),
    );
    const errors = [...failures.values()].filter((e) => !(e instanceof SkippedResource));
    if (errors.length > 0) {
      const first = errors[0]!;
      throw new ReconixError(Reason.CloudError, errors.map((e) => e.message).join('; '), {
        cause: first,
        reaction: failureOf(first).reaction,
      });
    }
    return { changes, facts: this.facts(ctx) };
  }

  private async one(p: Pass, spec: ResourceSpec, found: FoundIndex): Promise<ResourceChange> {
    const { ctx, kctx } = p;
    const kind = kindOf(spec.type);
    const rec = ctx.state.resources[spec.key];
    const f = matchSpec(spec, rec, found);
    const want = { key: spec.key, type: spec.type, deps: spec.deps, attrs: kind.desired(spec, p.facts) };
    const step = planResource(
      want,
      f && { id: f.id, attrs: f.attrs },
      rec?.id,
      kind,
      this.o.allowRecreate ?? false,
    );
    const change = toChange(step);
    if (!p.apply || step.blocked) return change;
    if (f && step.adopt) this.record(p, spec, f);
    if (step.action === 'unchanged' && f) this.record(p, spec, f);
    if (step.action === 'update' && f) this.record(p, spec, await kind.update(kctx, spec, f, p.facts));
    if (step.action === 'replace' && f) {
      const old = ctx.state.resources[spec.key] ?? this.asRecord(spec, f);
      await kind.destroy(kctx, { ...old, id: f.id }, { deleteNonEmptyBuckets: false });
      delete ctx.state.resources[spec.key];
      setFact(p.facts, spec.type, spec.name, undefined);
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
      setFact(p.facts, spec.type, spec.name, undefined);
      // The token is on disk before the create call: the save settles only once a write made after it is done.
      await ctx.save();
      this.record(p, spec, await kind.create(kctx, spec, p.facts, token), token);
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

  private record(p: Pass, spec: ResourceSpec, f: Found, token?: string): void {
    const prev = p.ctx.state.resources[spec.key];
    const tok = token ?? f.token ?? prev?.token;
    const next: ResourceRecord = {
      type: spec.type,
      name: spec.name,
      ...(tok ? { token: tok } : {}),
      id: f.id,
      facts: { ...f.facts, region: spec.region, ...kindOf(spec.type).recordFacts?.(spec) },
      createdAt: prev?.createdAt ?? this.clock.now().toISOString(),
    };
    p.ctx.state.resources[spec.key] = next;
    setFact(p.facts, spec.type, spec.name, next);
    // A resync that finds the resource as recorded has nothing to write.
    if (prev && canonicalJson(prev) === canonicalJson(next)) return;
    const saved = p.ctx.save();
    saved.catch(() => undefined); // seen where the pass waits for it
    p.answered.add(saved);
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
