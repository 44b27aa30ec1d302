#!/usr/bin/env node
// Captures what the built reconix command prints for the argument lists of test/unit/cli/help-fixture.ts (help
// and argument errors) and writes them back into that file. Run after a deliberate change of the command line
// (`npm run build && node scripts/gen-cli-fixture.mjs`), then review the diff: the help test compares with it.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';

const fixture = 'test/unit/cli/help-fixture.ts';
const { CLI_CASES } = await import(new URL('../dist/test/unit/cli/help-fixture.js', import.meta.url));
const run = (args) => {
  try {
    const stdout = execFileSync(process.execPath, ['dist/src/cli/bin.js', ...args], {
      env: { ...process.env, RECONIX_STATE_DIR: '/nonexistent/reconix-state' },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return { args, code: 0, stdout, stderr: '' };
  } catch (err) {
    return { args, code: err.status ?? -1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
};
const extra = process.argv.slice(2).map((a) => a.split(' '));
const cases = [...CLI_CASES.map((c) => c.args), ...extra].map(run);
const text = readFileSync(fixture, 'utf8');
const head = text.slice(0, text.indexOf('export const CLI_CASES'));
writeFileSync(fixture, `${head}export const CLI_CASES: readonly CliCase[] = ${JSON.stringify(cases, null, 2)};\n`);
console.log(`wrote ${cases.length} cases to ${fixture}`);
