// `reconix rollout resume DEPLOYMENT`: let a rollout paused after a wave go on (in Kubernetes mode, the
// reconix.dev/resume annotation does this). The next deploy, or the controller's next reconcile, resumes it.
import type { Command } from 'commander';
import { Reason } from '../../api/conditions.js';
import { ReconixError } from '../../core/errors.js';
import type { StateHandle } from '../../state/backend.js';
import type { Cli } from '../wiring/cli.js';
import { print } from '../wiring/each.js';
import { stateStore } from '../wiring/state.js';

export function rolloutCommand(cli: Cli): Command {
  const rollout = cli.program.command('rollout').description('act on a rollout in waves');
  rollout
    .command('resume')
    .description('resume a rollout paused after a wave (at the next deploy or controller reconcile)')
    .argument('<deployment>', 'the deployment whose rollout is paused')
    .action(async (name: string) => {
      const store = stateStore(cli);
      if (!(await store.list()).includes(name)) {
        process.stderr.write(`error: no state is recorded for deployment ${name} in ${store.dir}\n`);
        process.exitCode = 1;
        return;
      }
      const handle = await acquireWhileBusy(() => store.acquire(name, 'reconix rollout resume'));
      try {
        const r = handle.state.rollout;
        if (!r || r.state !== 'paused') {
          process.stderr.write(
            `error: ${name} has no paused rollout (${r ? `it is ${r.state}` : 'none recorded'})\n`,
          );
          process.exitCode = 1;
          return;
        }
        r.resumeRequested = true;
        await handle.save();
        print(`${name}: the rollout paused after wave ${r.done} of ${r.waves} resumes at the next reconcile`);
      } finally {
        await handle.release();
      }
    });
  return rollout;
}

/** A controller's reconcile holds the lock for a while (a wave baking): wait up to a minute for it. */
async function acquireWhileBusy(take: () => Promise<StateHandle>): Promise<StateHandle> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      return await take();
    } catch (err) {
      if (!(err instanceof ReconixError) || err.reason !== Reason.StateLocked || Date.now() > deadline)
        throw err;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}
