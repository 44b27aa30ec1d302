// One of the processes that race for a deployment's lock: it takes the lock `rounds` times, logging each entry
// and exit to a shared O_APPEND log, and bumps a counter in the state while it holds the lock.
import { appendFileSync } from 'node:fs';
import { ReconixError } from '../../../src/core/errors.js';
import { FileStateStore } from '../../../src/state/file-store.js';

const [stateDir, logFile, roundsText] = process.argv.slice(2);
if (!stateDir || !logFile || !roundsText) throw new Error('usage: lock-racer STATE_DIR LOG ROUNDS');
const store = new FileStateStore(stateDir);
const log = (what: string): void =>
  appendFileSync(logFile, `${what} ${process.pid} ${process.hrtime.bigint().toString()}\n`);

for (let done = 0; done < Number(roundsText);) {
  let handle;
  try {
    handle = await store.acquire('race', 'lock race');
  } catch (err) {
    if (err instanceof ReconixError) {
      // A short random pause: eight processes spinning on two cores would starve the holder.
      await new Promise((resolve) => setTimeout(resolve, 1 + Math.random() * 4));
      continue;
    }
    throw err;
  }
  log('enter');
  const state = handle.state as unknown as { counter?: number };
  state.counter = (state.counter ?? 0) + 1;
  await handle.save();
  log('leave');
  await handle.release();
  done++;
}
