// Test-only hooks on AWS calls: count them (batching tests, benchmarks) and kill the process at a chosen call
// (crash tests). The CLI installs the crash hook only when RECONIX_CRASH_AT is set.
import type { AwsCall, AwsCallHook } from './clients.js';

/** Calls that change something in AWS (everything but Describe*, Get*, List*, Head*). */
export function isMutating(command: string): boolean {
  return !/^(Describe|Get|List|Head)/.test(command);
}

export interface CrashPoint {
  /** Before sending the call, or after its answer arrived (the object exists, the state does not know yet). */
  when: 'before' | 'after';
  /** The n-th mutating call of the process, from 1. */
  call: number;
}

/** "before:3" or "after:7". */
export function parseCrashAt(text: string | undefined): CrashPoint | undefined {
  if (!text) return undefined;
  const m = /^(before|after):([1-9][0-9]*)$/.exec(text.trim());
  if (!m) throw new Error(`RECONIX_CRASH_AT must look like before:N or after:N, not ${JSON.stringify(text)}`);
  return { when: m[1] as CrashPoint['when'], call: Number(m[2]) };
}

/** Kill (SIGKILL, no cleanup of any kind) at the crash point. */
export function crashHook(
  point: CrashPoint,
  kill: () => void = () => process.kill(process.pid, 'SIGKILL'),
): AwsCallHook {
  let started = 0;
  let finished = 0;
  return {
    before(call) {
      if (!isMutating(call.command)) return;
      started++;
      if (point.when === 'before' && started === point.call) kill();
    },
    after(call, ok) {
      if (!isMutating(call.command) || !ok) return;
      finished++;
      if (point.when === 'after' && finished === point.call) kill();
    },
  };
}

/** Records every call. */
export class CallCounter implements AwsCallHook {
  readonly calls: AwsCall[] = [];

  before(call: AwsCall): void {
    this.calls.push(call);
  }

  count(filter: Partial<AwsCall> = {}): number {
    return this.calls.filter((c) =>
      (Object.keys(filter) as (keyof AwsCall)[]).every((k) => c[k] === filter[k]),
    ).length;
  }

  /** Calls per "service region command". */
  summary(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const c of this.calls) {
      const k = `${c.service} ${c.region} ${c.command}`;
      out[k] = (out[k] ?? 0) + 1;
    }
    return out;
  }

  reset(): void {
    this.calls.length = 0;
  }
}
