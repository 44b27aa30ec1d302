// The flags and environment Node runs Reconix with, where Reconix starts Node itself: the installed binary's first
// line and the container's entry point and environment (both checked against these by
// test/unit/cli/node-flags.test.ts).
//
// V8 sized for memory rather than speed (--optimize-for-size), and a young generation of 2 MiB semi-spaces
// instead of 16 MiB: a controller makes short-lived garbage at every host it observes or copies to and every cloud
// resource it lists (SSH packets, JSON, streams), and by default V8 lets the heap grow to about twice what it holds.
// Measured with bench/scale (BENCHMARKS.md, "Node's flags").
export const NODE_FLAGS: readonly string[] = ['--optimize-for-size', '--max-semi-space-size=2'];

/**
 * glibc's malloc, told to give memory back. By default it raises its thresholds as the process frees large blocks
 * (up to 32 MiB for mmap, twice that to trim), after which freed memory stays in the process for good: the parse of
 * a large module (the EC2 client is one file of 2 MB), a cloud listing's body, a burst of SSH packets. With the
 * thresholds fixed at their initial 128 KiB, large blocks are mapped and unmapped and the heap's free top is
 * returned. Measured with bench/scale (BENCHMARKS.md, "Node's flags").
 */
export const NODE_ENV: Readonly<Record<string, string>> = { MALLOC_TRIM_THRESHOLD_: '131072' };

/** NODE_ENV as `env` takes it: NAME=VALUE words. */
export const nodeEnvWords = (): string[] => Object.entries(NODE_ENV).map(([k, v]) => `${k}=${v}`);
