// The options that become a request's overrides (machines, parallelism, activation, cloud flags), and that
// conversion; the value parsers the commands share.
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { RequestOverrides } from '../../source/deployments.js';
import type { AwsSettings } from '../aws.js';

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
    .option('--copy-only', 'create, build and copy to the hosts, but activate nothing');

/** What deploy (and plan, to show it) may do to cloud objects; false where a command has no such flag. */
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
    // A deploy asked for by hand tries a rollout that failed at this revision again.
    retryFailedRollout: true,
  };
}
