// The options that become a request's overrides (machines, parallelism, activation, cloud flags), and that
// conversion; the value parsers the commands share.
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { RequestOverrides } from '../../source/deployments.js';
import type { AwsSettings } from '../aws.js';
import { memoryBudgetProblem, parseSize } from '../../util/size.js';
import { durationProblem, parseDuration, SPEC_DURATIONS, type DurationBounds } from '../../util/duration.js';

/** A command's options as commander parses them. */
export type Options = Record<string, unknown>;

export const int = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive whole number');
  return n;
};

const list = (v: string, prev: string[] = []) => [...prev, ...v.split(',').filter(Boolean)];

export const selection = (c: Command): Command =>
  c
    .option(
      '--include <machines>',
      'only these machines (comma-separated, globs allowed, @tag for deployment.tags)',
      list,
    )
    .option(
      '--exclude <machines>',
      'not these machines (comma-separated, globs allowed, @tag for deployment.tags)',
      list,
    );

export const cloudOptions = (c: Command): Command =>
  c
    .option('--allow-reboot', 'change instance types by stopping and starting instances')
    .option('--allow-recreate', 'replace cloud objects that cannot change in place')
    .option('--kill-obsolete', 'destroy hosts and resources that left the spec');

export const maxParallel = (c: Command, about: string): Command => c.option('--max-parallel <n>', about, int);

const durationArg =
  (bounds: DurationBounds) =>
  (v: string): number => {
    const problem = durationProblem('', v, bounds);
    if (problem) throw new InvalidArgumentError(problem.replace(/^: /, ''));
    return parseDuration(v);
  };

/** How deploy activates, and the stage it stops after. */
export const activation = (c: Command): Command =>
  c
    .addOption(
      new Option('--mode <mode>', 'how to activate').choices(['switch', 'boot', 'test', 'dry-activate']),
    )
    .option('--always-activate', 'activate even machines that already run their system')
    .addOption(
      new Option('--create-only', 'create missing hosts and cloud resources, then stop').conflicts([
        'buildOnly',
        'copyOnly',
      ]),
    )
    .addOption(
      new Option(
        '--build-only',
        "build every selected machine's system here; create and activate nothing",
      ).conflicts('copyOnly'),
    )
    .option('--copy-only', 'create, build and copy to the hosts, but activate nothing')
    .option(
      '--confirm-timeout <duration>',
      'how long a host waits for the confirmation before switching back (default 30s)',
      durationArg(SPEC_DURATIONS.confirmTimeout),
    )
    .option(
      '--activation-timeout <duration>',
      'how long switch-to-configuration may run before the host kills it and switches back (default 10m)',
      durationArg(SPEC_DURATIONS.activationTimeout),
    )
    .option('--no-magic-rollback', 'do not wait for a confirmation over a new connection after switching');

/** What deploy (and plan, to show it) may do to cloud objects; false where a command has no such flag. */
/** A duration flag ("30s", "10m", "2h"), at least one second, as commander parses its value. */
export function memoryFlag(text: string): number {
  if (text === 'unlimited') return Infinity;
  const problem = memoryBudgetProblem('--eval-memory', text);
  if (problem) throw new InvalidArgumentError(problem);
  return parseSize(text);
}

export function workersFlag(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 64) throw new InvalidArgumentError(`${text}: expected 1 to 64`);
  return n;
}

export function timeoutFlag(text: string): number {
  let ms: number;
  try {
    ms = parseDuration(text);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
  if (ms < 1000) throw new InvalidArgumentError(`${text} is under a second: give at least 1s`);
  return ms;
}

export function cloudFlags(o: Options): AwsSettings {
  return {
    allowReboot: Boolean(o.allowReboot),
    allowRecreate: Boolean(o.allowRecreate),
    killObsolete: Boolean(o.killObsolete),
  };
}

export function overrides(o: Options): RequestOverrides {
  return {
    ...(o.include ? { include: o.include as string[] } : {}),
    ...(o.exclude ? { exclude: o.exclude as string[] } : {}),
    ...(o.maxParallel ? { maxParallel: o.maxParallel as number } : {}),
    ...(o.mode ? { mode: o.mode as RequestOverrides['mode'] & string } : {}),
    ...(o.killObsolete ? { killObsolete: true } : {}),
    ...(o.alwaysActivate ? { alwaysActivate: true } : {}),
    ...(o.createOnly ? { stopAfter: 'create' as const } : {}),
    ...(o.buildOnly ? { stopAfter: 'build' as const } : {}),
    ...(o.copyOnly ? { stopAfter: 'copy' as const } : {}),
    ...(o.magicRollback === false ? { magicRollback: false } : {}),
    ...(typeof o.confirmTimeout === 'number' ? { confirmTimeoutMs: o.confirmTimeout } : {}),
    ...(typeof o.activationTimeout === 'number' ? { activationTimeoutMs: o.activationTimeout } : {}),
    // A deploy asked for by hand tries a rollout that failed at this revision again.
    retryFailedRollout: true,
  };
}
