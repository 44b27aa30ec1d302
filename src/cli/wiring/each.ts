// The loop of the one-shot commands: each selected deployment in turn, run, printed as text or kept for the one
// JSON document, its exit code folded into the command's.
import type { MachineResult } from '../../apply/operations.js';
import type { ReconcileRequest } from '../../core/request.js';
import { reconcileDeployment } from '../../reconcile/reconciler.js';
import type { ReconcileReport } from '../../report/report.js';
import type { LoadedDeployment } from '../../source/deployments.js';
import { jsonDocument } from '../output.js';
import { renderResults } from '../render.js';
import { display, type Display, type DisplayMode } from '../progress/display.js';
import { setup, type Cli, type Selection } from './cli.js';
import type { Options } from './options.js';

/** How a command combines the exit codes of its deployments. */
export type Fold = (code: number, next: number) => number;
/** The worst deployment's code, where a higher code is worse. */
export const worst: Fold = (code, next) => Math.max(code, next);
/** Each deployment's bits (check's bitmask). */
export const bits: Fold = (code, next) => code | next;

export interface PerDeployment<R> {
  /** The request's op. */
  op: ReconcileRequest['op'];
  /** `shown`: the progress display, when there is one, for what the run prints itself. */
  run(req: ReconcileRequest, d: LoadedDeployment, shown?: Display): Promise<R>;
  /** The deployment's text; none: the run printed what it had to. */
  text?(result: R, d: LoadedDeployment): string;
  /** Its part of the JSON document, for a command with --json. */
  json?(result: R): unknown;
  /** Its exit code; none: 0. */
  code?(result: R): number;
  /** Default: worst. */
  fold?: Fold;
  /**
   * Show the run's progress: everywhere (live on a terminal, stage lines otherwise, events with --json), or only
   * live on a terminal, where it cannot mix with output that scripts read.
   */
  progress?: 'always' | 'terminal';
  /** Where the stage lines go when stdout is no terminal, without --json: stderr leaves stdout to the run's. */
  stageLinesTo?: 'stdout' | 'stderr';
}

export const print = (s: string): void => void process.stdout.write(s.endsWith('\n') ? s : s + '\n');

/** Run each on the selected deployments in turn, printing as it goes; the command's exit code. */
export async function forEachDeployment<R>(
  sel: Selection,
  each: PerDeployment<R>,
  out: (s: string) => void = print,
): Promise<number> {
  const fold = each.fold ?? worst;
  let code = 0;
  const documents: unknown[] = [];
  const mode = displayMode(sel, each.progress);
  const to = mode === 'plain' && each.stageLinesTo === 'stderr' ? process.stderr : process.stdout;
  for (const d of sel.deployments) {
    const shown = mode
      ? display({
          mode,
          output: sel.globals.verbose === true,
          write: (text) => void to.write(text),
          size: () => ({ rows: process.stdout.rows || 24, columns: process.stdout.columns || 80 }),
        })
      : undefined;
    const req = sel.request(d, each.op);
    let result: R;
    try {
      result = await each.run(shown ? { ...req, progress: shown.sink } : req, d, shown);
    } finally {
      shown?.stop();
    }
    code = fold(code, each.code?.(result) ?? 0);
    if (sel.json && each.json) documents.push(each.json(result));
    else if (each.text) out(each.text(result, d));
  }
  // After the events, the document on one line of its own: the last line of the output.
  if (sel.json && each.json)
    out(
      mode === 'json'
        ? JSON.stringify(documents.length === 1 ? documents[0] : documents)
        : jsonDocument(documents),
    );
  return code;
}

/**
 * The action of a one-shot command: the selected deployments, each as what `each` makes of the command's
 * arguments and options says.
 */
export function eachDeployment<R, A extends unknown[]>(
  cli: Cli,
  each: (sel: Selection, o: Options, ...args: A) => PerDeployment<R>,
): (...args: unknown[]) => Promise<void> {
  // commander passes the command's arguments, then its options, then the command.
  return async (...args) => {
    const o = args[args.length - 2] as Options;
    const sel = await setup(cli, o);
    process.exitCode = await forEachDeployment(sel, each(sel, o, ...(args.slice(0, -2) as A)));
  };
}

/** The action of a command that reconciles each deployment once, for op, and shows its report. */
export function reconcileEach(
  cli: Cli,
  op: ReconcileRequest['op'],
  show: Omit<PerDeployment<ReconcileReport>, 'op' | 'run'>,
): (...args: unknown[]) => Promise<void> {
  return eachDeployment(cli, (sel) => ({ op, run: (req) => reconcileDeployment(req, sel.deps), ...show }));
}

/**
 * An operation on the machines of each deployment (rollback, destroy, stop...): a line per machine, saying verb
 * and what show makes of its value or why it failed; exit code 1 if any machine failed.
 */
export function operation<T>(
  run: (req: ReconcileRequest) => Promise<MachineResult<T>[]>,
  verb: string,
  show: (v: T) => string,
): PerDeployment<MachineResult<T>[]> {
  return {
    op: 'deploy',
    run,
    text: (results) => renderResults(verb, results, show),
    code: failedAny,
    progress: 'terminal',
  };
}

export const failedAny = (results: readonly MachineResult<unknown>[]): number =>
  results.some((r) => !r.ok) ? 1 : 0;

function displayMode(sel: Selection, progress: PerDeployment<unknown>['progress']): DisplayMode | undefined {
  if (!progress) return undefined;
  if (process.stdout.isTTY && !sel.json) return 'live';
  if (progress === 'terminal') return undefined;
  return sel.json ? 'json' : 'plain';
}
