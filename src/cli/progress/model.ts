// What the progress display knows: the latest of each machine and wave, folded from the events as they come.
import type { MachineStage, ProgressEvent, WaveState } from '../../core/progress.js';

export interface MachineLine {
  machine: string;
  stage: MachineStage;
  /** When its first event came (ms), for the elapsed time. */
  since: number;
  /** When it reached the stage it is in (ms); once done or failed, the elapsed time stops there. */
  stageAt: number;
  built?: { done: number; total: number };
  copied?: { bytes: number; total: number };
  /** When the first byte count of its copy came (ms), for the rate. */
  copyStart?: number;
  copyStartBytes?: number;
  /** Bytes per second of the copy so far. */
  rate?: number;
  wave?: number;
  exitCode?: number;
  reason?: string;
  message?: string;
}

export interface WaveLine {
  wave: number;
  waves: number;
  machines: readonly string[];
  state: WaveState;
  reason?: string;
}

export interface ProgressModel {
  deployment?: string;
  stage?: Extract<ProgressEvent, { type: 'deployment' }>['stage'];
  since?: number;
  machines: Map<string, MachineLine>;
  waves: Map<number, WaveLine>;
}

export const emptyModel = (): ProgressModel => ({ machines: new Map(), waves: new Map() });

/** Fold one event into the model; whether something other than a count changed (a stage, a wave's state). */
export function applyEvent(model: ProgressModel, event: ProgressEvent): boolean {
  const at = Date.parse(event.at);
  switch (event.type) {
    case 'deployment': {
      if (model.deployment !== event.deployment) {
        // A new deployment of the same command: its machines start afresh.
        model.machines.clear();
        model.waves.clear();
        model.since = at;
      }
      model.deployment = event.deployment;
      model.since ??= at;
      const changed = model.stage !== event.stage;
      model.stage = event.stage;
      return changed;
    }
    case 'machine': {
      const line = model.machines.get(event.machine);
      if (!line) {
        model.machines.set(event.machine, lineOf(event, at));
        return true;
      }
      const changed = line.stage !== event.stage;
      if (changed) {
        line.stage = event.stage;
        line.stageAt = at;
        delete line.built;
        delete line.copied;
        delete line.rate;
        delete line.copyStart;
        delete line.copyStartBytes;
      }
      if (event.built) line.built = event.built;
      if (event.copied) copiedAt(line, event.copied, at);
      copyExtras(line, event);
      return changed;
    }
    case 'wave': {
      const before = model.waves.get(event.wave);
      model.waves.set(event.wave, {
        wave: event.wave,
        waves: event.waves,
        machines: event.machines,
        state: event.state,
        ...(event.reason ? { reason: event.reason } : {}),
      });
      return before?.state !== event.state;
    }
    case 'output':
      return false;
  }
}

function lineOf(event: Extract<ProgressEvent, { type: 'machine' }>, at: number): MachineLine {
  const line: MachineLine = { machine: event.machine, stage: event.stage, since: at, stageAt: at };
  if (event.built) line.built = event.built;
  if (event.copied) copiedAt(line, event.copied, at);
  copyExtras(line, event);
  return line;
}

function copyExtras(line: MachineLine, event: Extract<ProgressEvent, { type: 'machine' }>): void {
  if (event.wave !== undefined) line.wave = event.wave;
  if (event.exitCode !== undefined) line.exitCode = event.exitCode;
  if (event.reason !== undefined) line.reason = event.reason;
  if (event.message !== undefined) line.message = event.message;
}

function copiedAt(line: MachineLine, copied: { bytes: number; total: number }, at: number): void {
  line.copied = copied;
  if (line.copyStart === undefined) {
    line.copyStart = at;
    line.copyStartBytes = copied.bytes;
    return;
  }
  const seconds = (at - line.copyStart) / 1000;
  if (seconds > 0) line.rate = (copied.bytes - (line.copyStartBytes ?? 0)) / seconds;
}

/** Whether a machine's stage is one it ends in. */
export const finished = (stage: MachineStage): boolean =>
  stage === 'done' || stage === 'failed' || stage === 'rolled-back' || stage === 'skipped';
