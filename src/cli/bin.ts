#!/usr/bin/env node
// The reconix binary: the command with nothing added.
import { runCli } from './main.js';

await runCli(process.argv);
