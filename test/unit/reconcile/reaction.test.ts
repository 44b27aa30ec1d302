// How a failure's reaction travels: from the error raised to the machine's report and the deployment's report.
import assert from 'node:assert/strict';
import { combinedReaction, failureOf, ReconixError, type Reaction } from '../../../src/core/errors.js';
import { Reason } from '../../../src/api/conditions.js';
import type { ReconcileRequest } from '../../../src/core/request.js';
import { summarise, type MachineReport } from '../../../src/report/report.js';

const req: ReconcileRequest = {
  name: 'fleet',
  source: { deployment: 'fleet', files: [], args: {}, builder: 'mini' },
  op: 'deploy',
  driftPolicy: 'Correct',
  mode: 'switch',
  maxParallel: 4,
};
const at = new Date('2026-01-01T00:00:00Z');
const plan = { machines: [], actions: [] };

function failed(name: string, reason: Reason, reaction: Reaction): MachineReport {
  return {
    machine: name,
    env: 'local',
    verdict: 'create',
    outcome: 'failed',
    error: { reason, message: `${name} broke`, reaction },
  };
}
const fine = (name: string): MachineReport => ({
  machine: name,
  env: 'local',
  verdict: 'up-to-date',
  outcome: 'unchanged',
});

describe('the reaction to a failure', () => {
  it('is the most hopeful one when several failures come together', () => {
    const table: [Reaction[], Reaction][] = [
      [['stall'], 'stall'],
      [['stall', 'stall'], 'stall'],
      [['stall', 'retry'], 'retry'],
      [['retry', 'stall'], 'retry'],
      [['stall', 'wait'], 'wait'],
      [['wait', 'retry', 'stall'], 'retry'],
      [[], 'retry'],
    ];
    for (const [given, expected] of table) assert.equal(combinedReaction(given), expected, given.join('+'));
  });

  it('is what the error says, and retry for an error that says nothing', () => {
    const stall = new ReconixError(Reason.EvaluationFailed, 'syntax error at network.nix:3', {
      reaction: 'stall',
    });
    assert.deepEqual(failureOf(stall), {
      reason: Reason.EvaluationFailed,
      message: 'syntax error at network.nix:3',
      reaction: 'stall',
    });
    assert.deepEqual(failureOf(new Error('connection reset'), Reason.CopyFailed), {
      reason: Reason.CopyFailed,
      message: 'connection reset',
      reaction: 'retry',
    });
    assert.equal(failureOf('a string').reaction, 'retry');
  });
});

describe('the report of a reconcile', () => {
  it('carries a deployment-level error with its reaction', () => {
    const err = new ReconixError(Reason.EvaluationFailed, 'network.nix:3: syntax error', {
      reaction: 'stall',
    });
    const report = summarise(req, at, at, {}, plan, err);
    assert.equal(report.ok, false);
    assert.equal(report.reason, Reason.EvaluationFailed);
    assert.deepEqual(report.error, {
      reason: Reason.EvaluationFailed,
      message: 'network.nix:3: syntax error',
      reaction: 'stall',
      scope: 'deployment',
    });
  });

  it('stalls when every failing machine stalls', () => {
    const machines = {
      a: failed('a', Reason.ProvisioningFailed, 'stall'),
      b: failed('b', Reason.ProvisioningFailed, 'stall'),
      c: fine('c'),
    };
    const report = summarise(req, at, at, machines, plan);
    assert.equal(report.error?.reaction, 'stall');
    assert.equal(report.error?.scope, 'machines');
    assert.equal(report.error?.reason, Reason.ProvisioningFailed);
    assert.equal(report.error?.message, report.message);
    assert.match(report.message, /^2 of 3 machines failed: ProvisioningFailed \(2\): a, b$/);
  });

  it('retries when one failing machine may recover by itself, whatever the others do', () => {
    const machines = {
      a: failed('a', Reason.HostKeyMismatch, 'stall'),
      b: failed('b', Reason.HostUnreachable, 'retry'),
    };
    const report = summarise(req, at, at, machines, plan);
    assert.equal(report.reason, Reason.PartialFailure);
    assert.deepEqual(
      { reason: report.error?.reason, reaction: report.error?.reaction },
      { reason: Reason.PartialFailure, reaction: 'retry' },
    );
  });

  it('has no error when nothing failed', () => {
    const report = summarise(req, at, at, { c: fine('c') }, plan);
    assert.equal(report.ok, true);
    assert.equal(report.error, undefined);
  });
});
