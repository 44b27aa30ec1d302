// Runs an analysis gate against Prometheus while a wave bakes.
import type { AnalysisGate } from '../api/analysis.js';
import type { Clock } from '../core/ports.js';

export interface AnalysisVars {
  deployment: string;
  /** The wave's machines; {{machines}} in the query becomes a regex matching exactly these names. */
  machines: readonly string[];
}

export interface AnalysisDeps {
  clock: Clock;
  signal: AbortSignal;
  fetch?: typeof fetch;
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

export async function runAnalysis(
  _gate: AnalysisGate,
  _vars: AnalysisVars,
  _deps: AnalysisDeps,
): Promise<AnalysisOutcome> {
  throw new Error('analysis gates are not implemented yet');
}
