import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { CLI } from '../../support/cli.js';
import { CLI_CASES, type CliCase } from './help-fixture.js';

/** The built command on args, with the state directory the fixture was captured with. */
function run(args: readonly string[]): Promise<CliCase> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { env: { ...process.env, RECONIX_STATE_DIR: '/nonexistent/reconix-state' }, encoding: 'utf8' },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        resolve({ args: [...args], code, stdout, stderr });
      },
    );
  });
}

describe('the reconix command line', function () {
  this.timeout(120_000);
  let results: CliCase[] = [];

  before(async () => {
    // A few at a time: each case is a node process of its own.
    const queue = [...CLI_CASES];
    const worker = async () => {
      for (let c = queue.shift(); c; c = queue.shift()) results.push(await run(c.args));
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
    results = CLI_CASES.map((c) => results.find((r) => r.args.join('\0') === c.args.join('\0'))!);
  });

  it('covers the help of every command it registers', () => {
    const root = results.find((r) => r.args.join(' ') === '--help')!;
    const listed = root.stdout.slice(root.stdout.indexOf('Commands:'));
    const commands = [...listed.matchAll(/^ {2}([a-z-]+)/gm)].map((m) => m[1]!);
    assert.ok(commands.length >= 15, `commands in the help: ${commands.join(', ')}`);
    for (const name of commands.filter((n) => n !== 'help')) {
      assert.ok(
        CLI_CASES.some((c) => c.args[0] === name && c.args[1] === '--help'),
        `no case for ${name} --help`,
      );
    }
  });

  for (const [i, c] of CLI_CASES.entries()) {
    it(`prints what it printed before, with the same exit code, for "reconix ${c.args.join(' ')}"`, () => {
      assert.deepEqual(results[i], c);
    });
  }
});
