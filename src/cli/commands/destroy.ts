// `reconix destroy`: the hosts and cloud resources Reconix created destroyed, the rest forgotten.
import type { Command } from 'commander';
import { destroy } from '../../apply/operations.js';
import type { Cli } from '../wiring/cli.js';
import { eachDeployment, operation } from '../wiring/each.js';
import { selection } from '../wiring/options.js';

export function destroyCommand(cli: Cli): Command {
  return selection(cli.program.command('destroy'))
    .description(
      'destroy the hosts and cloud resources Reconix created for the deployment and forget the rest',
    )
    .option('--delete-nonempty-buckets', 'delete S3 buckets with everything in them (else they are refused)')
    .action(
      eachDeployment(cli, (sel, o) => {
        const buckets = { deleteNonEmptyBuckets: Boolean(o.deleteNonemptyBuckets) };
        return operation(
          (req) => destroy(req, sel.deps, buckets),
          'destroyed',
          (env) => `(${env})`,
        );
      }),
    );
}
