// Where progress events go while a command runs: a live block of lines redrawn in place on a terminal, a plain
// line per stage change when stdout is a file or a pipe, or one JSON object per event with --json.
import type { ProgressEvent, ProgressSink } from '../../core/progress.js';
import { applyEvent, emptyModel, type ProgressModel } from './model.js';
import { bytes, screenLines, type ScreenSize } from './screen.js';

export type DisplayMode = 'live' | 'plain' | 'json';

export interface Display {
  readonly sink: ProgressSink;
  /**
   * Print text of the command's own (whole lines) with `to`, by default where the display writes: on a terminal
   * above the live lines, which are drawn again below it.
   */
  print(text: string, to?: (text: string) => void): void;
  /** Draw the last state and stop; what the command prints next comes below. */
  stop(): void;
}

export interface DisplayOptions {
  mode: DisplayMode;
  /** Show build and activation output (-v). */
  output: boolean;
  write: (text: string) => void;
  /** The terminal's size now (live mode). */
  size?: () => ScreenSize;
  now?: () => number;
  /** Redraw period of the live display (for the elapsed times), ms. */
  tickMs?: number;
}

export function display(o: DisplayOptions): Display {
  switch (o.mode) {
    case 'json':
      return {
        sink: (e) => {
          if (e.type !== 'output' || o.output) o.write(`${JSON.stringify(e)}\n`);
        },
        print: (text, to = o.write) => to(text),
        stop: () => undefined,
      };
    case 'plain': {
      const model = emptyModel();
      return {
        sink: (e) => {
          if (e.type === 'output') {
            if (o.output) o.write(`${outputPrefix(e)} | ${e.line}\n`);
          } else if (applyEvent(model, e)) o.write(`${plainLine(e, model)}\n`);
        },
        print: (text, to = o.write) => to(text),
        stop: () => undefined,
      };
    }
    case 'live':
      return live(o);
  }
}

/** The line a stage change prints when stdout is no terminal: `2026-12-01T12:00:00Z web-1 copying 12.3 MB/40.1 MB`. */
export function plainLine(e: Exclude<ProgressEvent, { type: 'output' }>, model?: ProgressModel): string {
  const at = e.at.replace(/\.\d+Z$/, 'Z');
  // The reason only: the message is the report's, printed once, below.
  const why = e.reason ?? '';
  switch (e.type) {
    case 'deployment':
      return [at, e.deployment, e.stage, why].filter(Boolean).join(' ');
    case 'wave':
      return [at, e.deployment, `wave ${e.wave}/${e.waves}`, e.state, e.machines.join(','), why]
        .filter(Boolean)
        .join(' ');
    case 'machine': {
      const line = model?.machines.get(e.machine);
      const built = e.built ?? line?.built;
      const copied = e.copied ?? line?.copied;
      const counts =
        e.stage === 'building' && built
          ? `${built.done}/${built.total} built`
          : e.stage === 'copying' && copied
            ? `${bytes(copied.bytes)}/${bytes(copied.total)}`
            : '';
      const code = e.exitCode === undefined ? '' : `exit code ${e.exitCode}`;
      return [at, e.machine, e.stage, counts, why, code].filter(Boolean).join(' ');
    }
  }
}

const outputPrefix = (e: Extract<ProgressEvent, { type: 'output' }>) => e.machine ?? e.deployment;

const ERASE_LINE = '\x1b[2K';
const ERASE_BELOW = '\x1b[J';
/** To the start of the line n lines up. */
const up = (n: number) => (n > 0 ? `\x1b[${n}F` : '\r');

function live(o: DisplayOptions): Display {
  const model = emptyModel();
  const now = o.now ?? Date.now;
  const size = o.size ?? (() => ({ rows: 24, columns: 80 }));
  let drawn = 0;
  let dirty = false;
  let stopped = false;
  const draw = (above: readonly string[] = []) => {
    const lines = screenLines(model, now(), size());
    let text = drawn > 0 ? up(drawn) : '';
    for (const l of above) text += `${ERASE_LINE}${l}\n`;
    for (const l of lines) text += `${ERASE_LINE}${l}\n`;
    o.write(text + ERASE_BELOW);
    drawn = lines.length;
    dirty = false;
  };
  const timer = setInterval(() => draw(), o.tickMs ?? 200);
  timer.unref();
  return {
    sink: (e) => {
      if (stopped) return;
      if (e.type === 'output') {
        // Output scrolls by above the block, which is drawn again below it.
        if (o.output) draw([`${outputPrefix(e)} | ${e.line}`]);
        return;
      }
      applyEvent(model, e);
      if (!dirty) {
        dirty = true;
        // Events come in bursts (a hundred machines at once): draw once for each burst.
        setImmediate(() => !stopped && dirty && draw());
      }
    },
    print: (text, to = o.write) => {
      if (stopped || drawn === 0) {
        to(text);
        return;
      }
      // The block goes, the text takes its place, and the block comes back below it.
      o.write(`${up(drawn)}${ERASE_BELOW}`);
      drawn = 0;
      to(text);
      draw();
    },
    stop: () => {
      if (stopped) return;
      clearInterval(timer);
      draw();
      stopped = true;
    },
  };
}
