#!/usr/bin/env -S node --optimize-for-size
// The reconix binary: the command with nothing added. V8 sized for memory rather than speed: a controller of
// thousands of cloud resources otherwise lets its heap grow to twice what it holds (measured with 5,000 security
// groups, BENCHMARKS.md), for a few percent of CPU.
import { runCli } from './main.js';

await runCli(process.argv);
