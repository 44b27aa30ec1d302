// Stages report progress through these: one shape per event kind, stamped with the clock of the run.
import type { MachineStage, ProgressEvent } from '../core/progress.js';
import type { RunContext } from './run.js';

type DeploymentStage = Extract<ProgressEvent, { type: 'deployment' }>['stage'];
type MachineExtra = Partial<
  Pick<Extract<ProgressEvent, { type: 'machine' }>, 'built' | 'copied' | 'reason' | 'message'>
>;

export function deploymentStage(
  ctx: RunContext,
  stage: DeploymentStage,
  extra: { reason?: string; message?: string } = {},
): void {
  ctx.progress({ type: 'deployment', deployment: ctx.req.name, stage, at: stamp(ctx), ...extra });
}

export function machineStage(
  ctx: RunContext,
  machine: string,
  stage: MachineStage,
  extra: MachineExtra = {},
): void {
  ctx.progress({ type: 'machine', deployment: ctx.req.name, machine, stage, at: stamp(ctx), ...extra });
}

export function outputLine(
  ctx: RunContext,
  stream: 'build' | 'activation',
  line: string,
  machine?: string,
): void {
  ctx.progress({
    type: 'output',
    deployment: ctx.req.name,
    ...(machine ? { machine } : {}),
    stream,
    line,
    at: stamp(ctx),
  });
}

/** Calls `f` at most every `ms` milliseconds, dropping the calls in between; `flush` makes the last one. */
export function throttled<T>(ms: number, f: (v: T) => void): { push(v: T): void; flush(): void } {
  let last = 0;
  let pending: { v: T } | undefined;
  return {
    push(v) {
      const now = Date.now();
      if (now - last >= ms) {
        last = now;
        pending = undefined;
        f(v);
      } else pending = { v };
    },
    flush() {
      if (pending) f(pending.v);
      pending = undefined;
    },
  };
}

const stamp = (ctx: RunContext) => ctx.deps.clock.now().toISOString();
