// Loose memory measurements for tests of bounded buffers.
import v8 from 'node:v8';
import vm from 'node:vm';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

/** What the process holds on to: the JS heap and the buffers, after a full collection, in bytes. */
function retained(): number {
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

/**
 * Run `fn` and return, in MiB, how much more the process holds once it is done (after a full collection): what a
 * bounded buffer must keep small whatever went through it. Peak RSS is not used: how much garbage piles up before
 * a collection depends on everything else the process did.
 */
export async function retainedGrowth(fn: () => Promise<void>): Promise<number> {
  const base = await settled();
  await fn();
  return Math.max(0, (await settled()) - base) / 2 ** 20;
}

/** What is retained once the buffers freed by a collection are gone: V8 frees their memory after it, not in it. */
async function settled(): Promise<number> {
  retained();
  await new Promise((resolve) => setTimeout(resolve, 50));
  return retained();
}
