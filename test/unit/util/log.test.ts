import assert from 'node:assert/strict';
import { jsonLogger, logger, textLogger } from '../../../src/util/log.js';

const TS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

describe('log formats', () => {
  it('writes a JSON object per line with the message, level and every field', () => {
    const lines: string[] = [];
    jsonLogger('info', (l) => lines.push(l)).warn('reconcile failed; retrying', {
      deployment: 'web',
      machine: 'backend1',
      stage: 'activate',
      reason: 'ActivationFailed',
    });
    assert.equal(lines.length, 1);
    const o = JSON.parse(lines[0]!) as Record<string, unknown>;
    assert.match(String(o.ts), TS);
    assert.deepEqual(
      { ...o, ts: undefined },
      {
        ts: undefined,
        level: 'warn',
        msg: 'reconcile failed; retrying',
        deployment: 'web',
        machine: 'backend1',
        stage: 'activate',
        reason: 'ActivationFailed',
      },
    );
  });

  it('writes text lines with deployment, machine, stage and reason first, and quotes values with spaces', () => {
    const lines: string[] = [];
    textLogger('info', (l) => lines.push(l)).error('reconcile failed', {
      error: 'host key changed: "x"',
      reason: 'HostKeyChanged',
      attempt: 3,
      machine: 'db',
      deployment: 'web',
    });
    const [ts, rest] = [lines[0]!.slice(0, 24), lines[0]!.slice(25)];
    assert.match(ts, TS);
    assert.equal(
      rest,
      'ERROR reconcile failed deployment=web machine=db reason=HostKeyChanged ' +
        'error="host key changed: \\"x\\"" attempt=3',
    );
  });

  it('leaves out what is below the minimum level, in both formats', () => {
    const lines: string[] = [];
    for (const make of [jsonLogger, textLogger]) make('warn', (l) => lines.push(l)).info('hidden');
    assert.deepEqual(lines, []);
  });

  it('writes text on a terminal and JSON otherwise, unless a format is given', () => {
    const first = (format: 'json' | 'text' | undefined, isTerminal: boolean): string => {
      const lines: string[] = [];
      logger(format, { isTerminal, write: (l) => lines.push(l) }).info('started', { dir: '/src' });
      return lines[0]!;
    };
    assert.match(first(undefined, true), / INFO {2}started dir=\/src$/);
    assert.equal((JSON.parse(first(undefined, false)) as { msg: string }).msg, 'started');
    assert.equal((JSON.parse(first('json', true)) as { dir: string }).dir, '/src');
    assert.match(first('text', false), / INFO {2}started dir=\/src$/);
  });
});
