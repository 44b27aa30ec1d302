#!/usr/bin/env -S MALLOC_TRIM_THRESHOLD_=131072 node --optimize-for-size --max-semi-space-size=2
// The reconix binary: the command with nothing added, run with the Node flags and environment of node-flags.ts.
import { runCli } from './main.js';

await runCli(process.argv);
