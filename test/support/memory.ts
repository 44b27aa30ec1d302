// Loose memory measurements for tests of bounded buffers.

/** Run `fn` and return the largest growth of this process's RSS seen meanwhile, in MiB. */
export async function rssGrowth(fn: () => Promise<void>): Promise<number> {
  const base = process.memoryUsage().rss;
  let peak = base;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  try {
    await fn();
  } finally {
    clearInterval(timer);
  }
  return (Math.max(peak, process.memoryUsage().rss) - base) / 2 ** 20;
}
