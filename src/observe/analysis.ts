// Runs an analysis gate against Prometheus while a wave bakes: `count` instant queries, `interval` apart, each one
// a measurement that passes when every sample meets the successCondition.
import type { AnalysisGate } from '../api/analysis.js';
import { evaluateCondition, parseCondition, type Condition } from '../api/condition.js';
import type { Clock } from '../core/ports.js';
import { parseDuration } from '../util/duration.js';
import { queryPrometheus, type Sample } from './prometheus-query.js';

export { parseCondition, conditionProblem, ConditionError } from '../api/condition.js';

export interface AnalysisVars {
  deployment: string;
  /** The wave's machines; {{machines}} in the query becomes a regex matching exactly these names. */
  machines: readonly string[];
}

export interface AnalysisDeps {
  clock: Clock;
  signal: AbortSignal;
  fetch?: typeof fetch;
  /** How long one query may take before it counts as a failed measurement; default 10 s. */
  requestTimeoutMs?: number;
}

export interface Measurement {
  at: string;
  /** The samples the query returned (a scalar is one sample). */
  values: number[];
  ok: boolean;
  error?: string;
}

export interface AnalysisOutcome {
  verdict: 'passed' | 'failed' | 'cancelled';
  measurements: Measurement[];
  /** One line for the report: which condition failed on what value, or why it could not be measured. */
  message: string;
}

export const ANALYSIS_DEFAULTS = { interval: '10s', count: 3, failureLimit: 0, requestTimeoutMs: 10_000 };

/** The gate's query with its placeholders filled in, each written for a double-quoted PromQL string. */
export function renderQuery(query: string, vars: AnalysisVars): string {
  const machines = vars.machines.map((m) => m.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|');
  return query
    .replaceAll('{{machines}}', promqlString(machines))
    .replaceAll('{{deployment}}', promqlString(vars.deployment));
}

/** Text as the inside of a PromQL "..." literal: its backslashes and quotes escaped. */
function promqlString(text: string): string {
  return text.replace(/[\\"]/g, '\\$&').replace(/\n/g, '\\n');
}

export async function runAnalysis(
  gate: AnalysisGate,
  vars: AnalysisVars,
  deps: AnalysisDeps,
): Promise<AnalysisOutcome> {
  let condition: Condition;
  let intervalMs: number;
  try {
    condition = parseCondition(gate.successCondition);
    intervalMs = parseDuration(gate.interval ?? ANALYSIS_DEFAULTS.interval);
  } catch (err) {
    return {
      verdict: 'failed',
      measurements: [],
      message: `analysis gate is invalid: ${(err as Error).message}`,
    };
  }
  const count = gate.count ?? ANALYSIS_DEFAULTS.count;
  const failureLimit = gate.failureLimit ?? ANALYSIS_DEFAULTS.failureLimit;
  const query = renderQuery(gate.query, vars);
  const about = `query ${JSON.stringify(clip(query))}, condition ${JSON.stringify(gate.successCondition)}`;
  const measurements: Measurement[] = [];
  let failed = 0;

  const cancelled = (): AnalysisOutcome => ({
    verdict: 'cancelled',
    measurements,
    message: `analysis cancelled after ${measurements.length} of ${count} measurements (${about})`,
  });

  for (let n = 0; n < count; n++) {
    if (n > 0) await sleepUnlessAborted(deps, intervalMs);
    if (deps.signal.aborted) return cancelled();
    const m = await measure(gate.prometheus.url, query, condition, gate.successCondition, deps);
    if (deps.signal.aborted) return cancelled();
    measurements.push(m);
    if (m.ok) continue;
    failed++;
    if (failed > failureLimit) {
      return {
        verdict: 'failed',
        measurements,
        message: `analysis failed: ${failed} of ${measurements.length} measurements failed, more than the failureLimit of ${failureLimit} (${about}): ${m.error}`,
      };
    }
  }
  const tolerated = failed > 0 ? `, ${failed} failed within the failureLimit of ${failureLimit}` : '';
  return {
    verdict: 'passed',
    measurements,
    message: `analysis passed: ${count - failed} of ${count} measurements met the condition${tolerated} (${about})`,
  };
}

async function measure(
  url: string,
  query: string,
  condition: Condition,
  conditionText: string,
  deps: AnalysisDeps,
): Promise<Measurement> {
  const at = deps.clock.now().toISOString();
  let samples: Sample[];
  try {
    samples = await queryPrometheus(url, query, {
      fetch: deps.fetch ?? fetch,
      signal: deps.signal,
      timeoutMs: deps.requestTimeoutMs ?? ANALYSIS_DEFAULTS.requestTimeoutMs,
    });
  } catch (err) {
    return { at, values: [], ok: false, error: (err as Error).message };
  }
  const values = samples.map((s) => s.value);
  if (samples.length === 0) return { at, values, ok: false, error: 'query returned no samples' };
  const bad = samples.find((s) => !evaluateCondition(condition, s.value));
  if (bad === undefined) return { at, values, ok: true };
  const where = bad.labels === undefined ? '' : ` of ${bad.labels}`;
  return { at, values, ok: false, error: `${conditionText} is false for the value ${bad.value}${where}` };
}

/** The clock's sleep, cut short by the signal: a cancelled rollout does not wait out a long interval. */
async function sleepUnlessAborted(deps: AnalysisDeps, ms: number): Promise<void> {
  if (deps.signal.aborted) return;
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<void>((resolve) => {
    onAbort = resolve;
    deps.signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    await Promise.race([deps.clock.sleep(ms), aborted]);
  } finally {
    deps.signal.removeEventListener('abort', onAbort!);
  }
}

function clip(text: string): string {
  return text.length > 300 ? `${text.slice(0, 300)}...` : text;
}
