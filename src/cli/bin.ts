#!/usr/bin/env -S node --optimize-for-size
// The reconix binary: the command with nothing added. V8 sized for memory rather than speed: otherwise the heap
// of a pass over thousands of cloud resources grows to twice what it holds. With 5,000 security groups the first
// deploy peaks at 172 MB instead of 225 MB, for twice its CPU (50 s against 26 s); a resync costs the same.
import { runCli } from './main.js';

await runCli(process.argv);
