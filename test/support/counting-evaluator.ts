// Nix's evaluator under the evaluation cache, as the CLI builds it, counting the evaluations that get past the
// cache to Nix.
import { join } from 'node:path';
import type { InfraFacts, PhysicalView, SystemRef } from '../../src/core/model.js';
import type { Evaluator, NetworkSource } from '../../src/core/ports.js';
import { CachingEvaluator } from '../../src/evaluate/cache.js';
import { NixEvaluator } from '../../src/evaluate/evaluator.js';
import type { ReconcileDeps } from '../../src/observe/run.js';
import { silentLogger } from '../../src/util/log.js';

export class CountingEvaluator implements Evaluator {
  calls = 0;
  constructor(private readonly nix: NixEvaluator) {}
  physical(src: NetworkSource): Promise<PhysicalView> {
    this.calls++;
    return this.nix.physical(src);
  }
  systems(src: NetworkSource, facts: InfraFacts, machines: string[]): Promise<Record<string, SystemRef>> {
    this.calls++;
    return this.nix.systems(src, facts, machines);
  }
  keys: NonNullable<Evaluator['keys']> = (src, machines) => this.nix.keys(src, machines);
}

/** `deps` with a cached, counted evaluator keeping its cache in `stateDir`. */
export function countedEvaluations(
  deps: ReconcileDeps,
  stateDir: string,
): { deps: ReconcileDeps; counted: CountingEvaluator } {
  const counted = new CountingEvaluator(new NixEvaluator({ scratchDir: join(stateDir, 'scratch') }));
  const evaluator = new CachingEvaluator(counted, {
    dir: join(stateDir, 'eval-cache'),
    skip: [stateDir],
    store: deps.store,
    log: silentLogger,
  });
  return { deps: { ...deps, evaluator }, counted };
}
