// The last progress events of a reconcile: each machine that no stage finished (unchanged, unreachable, failed
// before its apply) gets its done or failed from the report, then the deployment its own.
import type { ProgressEvent, ProgressSink } from '../core/progress.js';
import { deploymentStage, machineStage } from '../observe/progress.js';
import type { RunContext } from '../observe/run.js';
import type { ReconcileReport } from '../report/report.js';

/** The request's sink, noting which machines have had their last event. */
export function watched(sink: ProgressSink | undefined): { sink: ProgressSink; finished: Set<string> } {
  const finished = new Set<string>();
  return {
    finished,
    sink: (event: ProgressEvent) => {
      if (event.type === 'machine' && (event.stage === 'done' || event.stage === 'failed'))
        finished.add(event.machine);
      sink?.(event);
    },
  };
}

export function ended(ctx: RunContext, report: ReconcileReport, finished: ReadonlySet<string>): void {
  for (const m of Object.values(report.machines)) {
    if (finished.has(m.machine)) continue;
    if (m.outcome === 'failed' || m.outcome === 'unreachable')
      machineStage(ctx, m.machine, 'failed', {
        ...(m.error ? { reason: m.error.reason, message: m.error.message } : {}),
      });
    else machineStage(ctx, m.machine, 'done');
  }
  if (report.ok) deploymentStage(ctx, 'done');
  else deploymentStage(ctx, 'failed', { reason: report.reason, message: report.message ?? '' });
}
