import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Reason } from '../../../src/api/conditions.js';
import { ReconixError } from '../../../src/core/errors.js';
import { cloudError } from '../../../src/providers/aws/errors.js';
import { parseAddressMap, testHostsOnly } from '../../support/address-map.js';
import {
  CallCounter,
  crashHook,
  isMutating,
  mutatingCallLog,
  parseCrashAt,
} from '../../support/aws-hooks.js';

const call = (command: string) => ({ service: 'ec2' as const, region: 'r', command });

describe("the tests' AWS call hooks and address map, and AWS errors", () => {
  it('reads crash points and refuses anything else, naming where the text came from', () => {
    assert.deepEqual(parseCrashAt('after:7', 'X'), { when: 'after', call: 7 });
    assert.deepEqual(parseCrashAt(' before:1 ', 'X'), { when: 'before', call: 1 });
    assert.equal(parseCrashAt(undefined, 'X'), undefined);
    assert.throws(() => parseCrashAt('after:0', 'X'), /^Error: X must look like before:N or after:N/);
    assert.throws(() => parseCrashAt('sometime', 'X'), /before:N or after:N/);
  });

  it('kills at the chosen mutating call, counting only calls that change something', () => {
    let killed = '';
    const hook = crashHook({ when: 'after', call: 2 }, (c) => (killed = c.command));
    for (const c of ['DescribeInstances', 'CreateSecurityGroup', 'GetBucketPolicy']) {
      hook.before?.(call(c));
      hook.after?.(call(c), true);
    }
    assert.equal(killed, '');
    hook.before?.(call('RunInstances'));
    hook.after?.(call('RunInstances'), false); // a failed call made nothing
    assert.equal(killed, '');
    hook.before?.(call('RunInstances'));
    assert.equal(killed, '');
    hook.after?.(call('RunInstances'), true);
    assert.equal(killed, 'RunInstances');
    let before = 0;
    const early = crashHook({ when: 'before', call: 1 }, () => before++);
    early.before?.(call('HeadBucket'));
    early.before?.(call('CreateBucket'));
    assert.equal(before, 1);
    assert.deepEqual(['Describe', 'GetX', 'ListY', 'HeadBucket', 'PutBucketTagging'].map(isMutating), [
      false,
      false,
      false,
      false,
      true,
    ]);
  });

  it('counts calls by service, region and command', () => {
    const c = new CallCounter();
    c.before(call('DescribeInstances'));
    c.before({ ...call('DescribeInstances'), region: 'r2' });
    assert.equal(c.count({ command: 'DescribeInstances' }), 2);
    assert.deepEqual(c.summary(), { 'ec2 r DescribeInstances': 1, 'ec2 r2 DescribeInstances': 1 });
  });

  it('logs each mutating call as it starts and once it succeeded, and nothing else', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'reconix-call-log-'));
    try {
      const log = mutatingCallLog(join(dir, 'calls'));
      for (const [c, ok] of [
        ['DescribeInstances', true],
        ['CreateBucket', true],
        ['RunInstances', false],
      ] as const) {
        log.before?.(call(c));
        log.after?.(call(c), ok);
      }
      assert.equal(
        await readFile(join(dir, 'calls'), 'utf8'),
        'before CreateBucket\nafter CreateBucket\nbefore RunInstances\n',
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('binds machines only to loopback test hosts with a pinned key', () => {
    const map = parseAddressMap(
      JSON.stringify({ web: { host: '127.78.0.3', hostPublicKey: 'ssh-ed25519 AAAA' } }),
      'm.json',
    );
    assert.deepEqual(map.web, {
      endpoint: { host: '127.78.0.3', port: 22, user: 'root' },
      hostPublicKey: 'ssh-ed25519 AAAA',
    });
    assert.throws(
      () =>
        parseAddressMap(JSON.stringify({ web: { host: '54.1.2.3', hostPublicKey: 'ssh-ed25519 A' } }), 'm'),
      /loopback/,
    );
    assert.throws(
      () => parseAddressMap(JSON.stringify({ web: { host: '127.0.0.2' } }), 'm'),
      /hostPublicKey/,
    );
    assert.throws(() => parseAddressMap('[', 'm'), /not JSON/);
  });

  it('refuses a machine the map does not bind, so that no fake cloud address is ever tried', () => {
    const map = parseAddressMap(
      JSON.stringify({ web: { host: '127.78.0.3', hostPublicKey: 'ssh-ed25519 AAAA' } }),
      'm.json',
    );
    const reach = testHostsOnly(map, 'm.json');
    assert.equal(reach('web')?.endpoint.host, '127.78.0.3');
    assert.throws(
      () => reach('db'),
      (err: unknown) =>
        err instanceof ReconixError &&
        err.reason === Reason.HostUnreachable &&
        /^db is not bound to a test host in m\.json/.test(err.message),
    );
  });

  it('turns SDK errors into CloudError with the code, the status and what was being done', () => {
    const sdk = Object.assign(new Error('The key pair already exists'), {
      name: 'InvalidKeyPair.Duplicate',
      $metadata: { httpStatusCode: 400 },
    });
    const err = cloudError('ec2KeyPairs.kp: importing key pair x', sdk);
    assert.ok(err instanceof ReconixError);
    assert.equal(err.reason, Reason.CloudError);
    assert.equal(
      err.message,
      'ec2KeyPairs.kp: importing key pair x: AWS error InvalidKeyPair.Duplicate (HTTP 400): The key pair already exists',
    );
    assert.equal(err.cause, sdk);
    assert.equal(err.reaction, 'retry');
    assert.equal(
      cloudError('x', Object.assign(new Error('no'), { name: 'UnauthorizedOperation' })).reaction,
      'stall',
    );
  });
});
