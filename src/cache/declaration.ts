// deployment.copy, as the physical view carries it: `{ mode = "cache"; bucket = resources.s3Buckets.<name>; }`
// makes a machine substitute its closure from that bucket; without it (mode "push") the controller pushes it.
import type { DeploymentState, MachinePhysical } from '../core/model.js';
import type { CacheBucket } from '../core/ports.js';

export type CopySetting = { mode: 'push' } | { mode: 'cache'; cache: CacheBucket };

/** A machine's copy setting, or an error saying what is wrong with its declaration. */
export function copySetting(machine: MachinePhysical, state: DeploymentState): CopySetting | Error {
  const raw = machine.options.copy as Record<string, unknown> | undefined;
  if (raw === undefined || raw.mode === 'push') return { mode: 'push' };
  const where = `machine ${machine.name}: deployment.copy`;
  if (raw.mode !== 'cache') return new Error(`${where}.mode must be "push" or "cache"`);
  const ref = (raw.bucket as { _ref?: unknown } | undefined)?._ref;
  if (typeof ref !== 'string' || !ref.startsWith('s3Buckets.')) {
    return new Error(
      `${where}.bucket must be a bucket of the deployment (resources.s3Buckets.<name>) in mode "cache"`,
    );
  }
  const name = ref.slice('s3Buckets.'.length);
  const rec = Object.values(state.resources).find((r) => r.type === 's3Buckets' && r.name === name);
  const bucket = rec?.facts.name;
  const region = rec?.facts.region;
  if (typeof bucket !== 'string' || typeof region !== 'string') {
    return new Error(`${where}.bucket: resources.s3Buckets.${name} does not exist yet (deploy creates it)`);
  }
  const url = typeof raw.url === 'string' ? raw.url.replace(/\/+$/, '') : undefined;
  if (url !== undefined && !/^https?:\/\/[^\s]+$/.test(url)) {
    return new Error(`${where}.url must be an http:// or https:// URL, not ${JSON.stringify(raw.url)}`);
  }
  return { mode: 'cache', cache: { bucket, region, ...(url ? { url } : {}) } };
}
