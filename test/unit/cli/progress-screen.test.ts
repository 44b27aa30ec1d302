// The progress display as a pure function: events in, lines of the screen out.
import assert from 'node:assert/strict';
import type { MachineStage, ProgressEvent } from '../../../src/core/progress.js';
import { display, plainLine } from '../../../src/cli/progress/display.js';
import { applyEvent, emptyModel } from '../../../src/cli/progress/model.js';
import { bytes, screenLines } from '../../../src/cli/progress/screen.js';

const T0 = Date.parse('2026-12-01T12:00:00.000Z');
const at = (s: number) => new Date(T0 + s * 1000).toISOString();
const machine = (name: string, stage: MachineStage, s: number, extra: Partial<ProgressEvent> = {}) =>
  ({ type: 'machine', deployment: 'web', machine: name, stage, at: at(s), ...extra }) as ProgressEvent;
const big = { rows: 40, columns: 100 };

function fold(events: readonly ProgressEvent[]) {
  const model = emptyModel();
  for (const e of events) applyEvent(model, e);
  return model;
}

describe('the progress screen', () => {
  it('shows a header and one line per machine with its stage, counts, rate and elapsed time', () => {
    const model = fold([
      { type: 'deployment', deployment: 'web', stage: 'applying', at: at(0) },
      machine('web-1', 'building', 0, { built: { done: 2, total: 5 } }),
      machine('web-22', 'copying', 1, { copied: { bytes: 0, total: 40_100_000 } }),
      machine('web-22', 'copying', 3, { copied: { bytes: 12_300_000, total: 40_100_000 } }),
    ]);
    assert.deepEqual(screenLines(model, T0 + 7000, big), [
      'web: applying  0:07',
      'web-1   building    2/5 built  0:07',
      'web-22  copying     12.3 MB/40.1 MB  6.2 MB/s  0:06',
    ]);
  });

  it("stops a machine's clock when it is done, and shows a failure's reason and first line", () => {
    const model = fold([
      machine('a', 'activating', 0),
      machine('a', 'done', 4),
      machine('b', 'failed', 2, { reason: 'ActivationFailed', message: 'exit 3\nmore' }),
    ]);
    assert.deepEqual(screenLines(model, T0 + 60_000, big), [
      'a  done        0:04',
      'b  failed      ActivationFailed: exit 3  0:00',
    ]);
  });

  it('shows at most a screenful: the busy and failed machines, the rest summed up in one line', () => {
    const events: ProgressEvent[] = [];
    for (let i = 0; i < 30; i++) events.push(machine(`m${i}`, 'done', 1));
    for (let i = 30; i < 35; i++) events.push(machine(`m${i}`, 'copying', 1));
    for (let i = 35; i < 37; i++) events.push(machine(`m${i}`, 'failed', 1, { reason: 'CopyFailed' }));
    const lines = screenLines(fold(events), T0 + 2000, { rows: 12, columns: 80 });
    assert.equal(lines.length, 12 - 4);
    assert.deepEqual(
      lines.slice(0, -1).map((l) => l.split(/\s+/)[1]),
      ['copying', 'copying', 'copying', 'copying', 'copying', 'failed', 'failed'],
    );
    assert.equal(lines.at(-1), '+ 30 more: 30 done');
    const fewer = screenLines(fold(events), T0, { rows: 8, columns: 80 });
    assert.equal(fewer.at(-1), '+ 34 more: 30 done, 2 failed, 2 copying');
  });

  it('shows the waves above the machines, and never a line wider than the terminal', () => {
    const model = fold([
      {
        type: 'wave',
        deployment: 'web',
        wave: 1,
        waves: 2,
        machines: ['a', 'b'],
        state: 'baking',
        at: at(0),
      },
      machine('a-machine-with-a-long-name', 'failed', 0, { message: 'x'.repeat(200) }),
    ]);
    const lines = screenLines(model, T0, { rows: 24, columns: 40 });
    assert.equal(lines[0], 'wave 1/2 baking: a, b');
    assert.ok(lines.every((l) => [...l].length <= 40));
  });

  it('prints a timestamped line on stage changes only when stdout is no terminal', () => {
    const out: string[] = [];
    const d = display({ mode: 'plain', output: false, write: (t) => out.push(t) });
    d.sink(machine('web-1', 'copying', 0, { copied: { bytes: 0, total: 40_100_000 } }));
    d.sink(machine('web-1', 'copying', 1, { copied: { bytes: 12_300_000, total: 40_100_000 } }));
    d.sink(machine('web-1', 'activating', 2));
    d.sink({
      type: 'output',
      deployment: 'web',
      machine: 'web-1',
      stream: 'activation',
      line: 'hi',
      at: at(2),
    });
    assert.deepEqual(out, [
      '2026-12-01T12:00:00Z web-1 copying 0 B/40.1 MB\n',
      '2026-12-01T12:00:02Z web-1 activating\n',
    ]);
    assert.equal(
      plainLine(machine('b', 'failed', 0, { reason: 'BuildFailed' }) as Parameters<typeof plainLine>[0]),
      '2026-12-01T12:00:00Z b failed BuildFailed',
    );
  });

  it('prints output lines after the machine name with -v, and events as JSON lines with --json', () => {
    const out: string[] = [];
    const v = display({ mode: 'plain', output: true, write: (t) => out.push(t) });
    v.sink({
      type: 'output',
      deployment: 'web',
      machine: 'web-1',
      stream: 'activation',
      line: 'hi',
      at: at(0),
    });
    assert.deepEqual(out, ['web-1 | hi\n']);
    const json: string[] = [];
    const j = display({ mode: 'json', output: false, write: (t) => json.push(t) });
    j.sink(machine('web-1', 'done', 0));
    j.sink({ type: 'output', deployment: 'web', stream: 'build', line: 'building', at: at(0) });
    assert.deepEqual(
      json.map((l) => JSON.parse(l) as unknown),
      [machine('web-1', 'done', 0)],
    );
  });

  it('redraws the live block in place, moving the cursor up over the lines drawn before', async () => {
    const out: string[] = [];
    const d = display({
      mode: 'live',
      output: false,
      write: (t) => out.push(t),
      now: () => T0,
      tickMs: 60_000,
    });
    d.sink(machine('a', 'building', 0));
    d.sink(machine('b', 'building', 0));
    await new Promise((resolve) => setImmediate(resolve));
    d.stop();
    const last = out.at(-1)!;
    assert.ok(last.startsWith('\x1b[2F'), JSON.stringify(last));
    assert.match(last, /a {2}building.*\n.*b {2}building/);
  });

  it("shows exec's command running, then the exit code of a machine done or failed", () => {
    const model = fold([
      machine('a', 'running', 0),
      machine('b', 'running', 0),
      machine('a', 'done', 1, { exitCode: 0 }),
      machine('b', 'failed', 2, { exitCode: 3, reason: 'CommandFailed' }),
      machine('c', 'running', 0),
    ]);
    assert.deepEqual(screenLines(model, T0 + 5000, big), [
      'a  done        exit code 0  0:01',
      'b  failed      CommandFailed: exit code 3  0:02',
      'c  running     0:05',
    ]);
    const failed = machine('b', 'failed', 2, { exitCode: 3, reason: 'CommandFailed' });
    assert.equal(
      plainLine(failed as Parameters<typeof plainLine>[0]),
      '2026-12-01T12:00:02Z b failed CommandFailed exit code 3',
    );
  });

  it("prints the command's own lines above the live block, which is drawn again below them", async () => {
    const out: string[] = [];
    const elsewhere: string[] = [];
    const d = display({
      mode: 'live',
      output: false,
      write: (t) => out.push(t),
      now: () => T0,
      tickMs: 60_000,
    });
    d.sink(machine('a', 'running', 0));
    await new Promise((resolve) => setImmediate(resolve));
    out.length = 0;
    d.print('a | hello\n', (t) => elsewhere.push(t));
    // The block (one line) erased, the text written where it was, the block below it.
    assert.deepEqual(elsewhere, ['a | hello\n']);
    assert.equal(out[0], '\x1b[1F\x1b[J');
    assert.ok(out[1]!.startsWith('\x1b[2Ka  running'), JSON.stringify(out[1]));
    d.stop();
    out.length = 0;
    d.print('after\n');
    assert.deepEqual(out, ['after\n']);
  });

  it('writes sizes in SI units, as Nix does', () => {
    assert.deepEqual([bytes(999), bytes(12_345), bytes(40_100_000)], ['999 B', '12.3 kB', '40.1 MB']);
  });
});
