// Hooks on AWS calls for tests and benchmarks: count them, log the mutating ones, kill the process at one of them.
import { appendFileSync } from 'node:fs';
import type { AwsCall, AwsCallHook } from '../../src/providers/aws/index.js';

/** What the test entry point writes on stderr just before it kills itself at a crash point. */
export const CRASH_MARKER = 'reconix-test-cli: killed at ';

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

/** "before:3" or "after:7"; `source` names where the text came from, for the error. */
export function parseCrashAt(text: string | undefined, source: string): CrashPoint | undefined {
  if (!text) return undefined;
  const m = /^(before|after):([1-9][0-9]*)$/.exec(text.trim());
  if (!m) throw new Error(`${source} must look like before:N or after:N, not ${JSON.stringify(text)}`);
  return { when: m[1] as CrashPoint['when'], call: Number(m[2]) };
}

/** Calls `kill` at the crash point: the n-th mutating call started, or the n-th one answered successfully. */
export function crashHook(point: CrashPoint, kill: (call: AwsCall) => void): AwsCallHook {
  let started = 0;
  let finished = 0;
  return {
    before(call) {
      if (!isMutating(call.command)) return;
      started++;
      if (point.when === 'before' && started === point.call) kill(call);
    },
    after(call, ok) {
      if (!isMutating(call.command) || !ok) return;
      finished++;
      if (point.when === 'after' && finished === point.call) kill(call);
    },
  };
}

/**
 * Appends "before COMMAND" to `file` as each mutating call starts and "after COMMAND" once it succeeded: the crash
 * points a run has. Written synchronously, so that the file is complete whenever the process ends.
 */
export function mutatingCallLog(file: string): AwsCallHook {
  return {
    before(call) {
      if (isMutating(call.command)) appendFileSync(file, `before ${call.command}\n`);
    },
    after(call, ok) {
      if (isMutating(call.command) && ok) appendFileSync(file, `after ${call.command}\n`);
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
