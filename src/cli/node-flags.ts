// The flags Node runs Reconix with, where Reconix starts Node itself: the installed binary's first line and the
// container's entry point (both checked against this list by test/unit/cli/node-flags.test.ts).
//
// A young generation of 2 MiB semi-spaces instead of V8's 16 MiB: a controller makes short-lived garbage at
// every host it observes or copies to (SSH packets, JSON, streams), and with 16 MiB semi-spaces that garbage alone
// kept 30 MB more resident at 300 machines (bench/scale: 133 against 104 MB peak RSS for a first deploy, 126
// against 97 MB for a no-op resync), for no measurable CPU.
export const NODE_FLAGS: readonly string[] = ['--max-semi-space-size=2'];
