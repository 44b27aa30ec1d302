#!/usr/bin/env -S node --optimize-for-size --max-semi-space-size=2
// The reconix binary: the command with nothing added, run with the Node flags of node-flags.ts.
import { runCli } from './main.js';

await runCli(process.argv);
