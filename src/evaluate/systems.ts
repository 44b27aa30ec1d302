// Evaluating the systems of the machines a reconcile configures, with every machine's facts injected.
import type { InfraFacts, SystemRef } from '../core/model.js';
import type { EvaluateOptions, Evaluator, NetworkSource } from '../core/ports.js';

export type DesiredSystems = Readonly<Record<string, SystemRef>>;

/** The system each named machine should run; no machines, no evaluation. */
export async function evaluateSystems(
  evaluator: Evaluator,
  source: NetworkSource,
  facts: InfraFacts,
  names: readonly string[],
  options: EvaluateOptions = {},
): Promise<DesiredSystems> {
  return names.length > 0 ? evaluator.systems(source, facts, [...names], options) : {};
}
