// Copy mode "cache": the controller uploads what the host lacks to the deployment's binary cache (each path once,
// whichever machine asks first), then the host substitutes its system from the cache, trusting only the
// deployment's signing key. The controller sends the NAR bytes once per cache instead of once per host.
import { Reason } from '../api/conditions.js';
import { copySetting, type CopySetting } from '../cache/declaration.js';
import { ReconixError } from '../core/errors.js';
import type { BinaryCache, CacheBucket, CopyStats, HostSession, StorePathInfo } from '../core/ports.js';
import type { PhysicalView } from '../core/model.js';
import type { RunContext, StateDoc } from '../observe/run.js';

/** The caches one apply opened, by bucket: each opened once, so that each path is uploaded once. */
export type CacheRun = Map<string, Promise<BinaryCache>>;

/** How a machine copies; a declaration that cannot be followed fails the machine, saying why. */
export function copyModeOf(physical: PhysicalView | undefined, doc: StateDoc, machine: string): CopySetting {
  const m = physical?.machines[machine];
  if (!m) return { mode: 'push' };
  const setting = copySetting(m, doc.state);
  if (setting instanceof Error) {
    throw new ReconixError(Reason.InvalidManifest, setting.message, { reaction: 'stall' });
  }
  return setting;
}

export async function copyThroughCache(
  ctx: RunContext,
  caches: CacheRun,
  session: HostSession,
  where: CacheBucket,
  system: string,
  closure: readonly StorePathInfo[],
  sent: (bytes: number, total: number) => void,
): Promise<CopyStats> {
  const missing = new Set(await session.missingPaths(closure.map((p) => p.path)));
  const none = { paths: 0, bytes: 0, mode: 'cache' as const, uploaded: { paths: 0, bytes: 0 } };
  if (missing.size === 0) return none;
  const factory = ctx.deps.binaryCaches;
  if (!factory) {
    throw new ReconixError(
      Reason.CopyFailed,
      `copy mode "cache" needs AWS access to bucket ${where.bucket}, and this controller has none for the deployment`,
      { reaction: 'stall' },
    );
  }
  if (!session.substitute) throw new Error('this host session cannot substitute from a binary cache');
  const id = `${where.region}\0${where.bucket}\0${where.url ?? ''}`;
  let opening = caches.get(id);
  if (!opening) {
    opening = factory.open(ctx.req.name, where);
    caches.set(id, opening);
  }
  const cache = await opening;
  const uploaded = await cache.upload(
    closure.filter((p) => missing.has(p.path)),
    ctx.deps.store,
    sent,
  );
  await session.substitute([system], { url: cache.url, publicKey: cache.publicKey });
  return { paths: missing.size, bytes: 0, mode: 'cache', uploaded };
}
