// The flags Node runs Reconix with, where Reconix starts Node itself: the installed binary's first line and the
// container's entry point (both checked against this list by test/unit/cli/node-flags.test.ts).
//
// V8 sized for memory rather than speed (--optimize-for-size), and a young generation of 2 MiB semi-spaces
// instead of 16 MiB: a controller makes short-lived garbage at every host it observes or copies to and every cloud
// resource it lists (SSH packets, JSON, streams), and by default V8 lets the heap grow to about twice what it holds.
// Measured with bench/scale (BENCHMARKS.md, "Node's flags").
export const NODE_FLAGS: readonly string[] = ['--optimize-for-size', '--max-semi-space-size=2'];
