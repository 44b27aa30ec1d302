// An activation in the SSH session (no detached settings: what a dry activation and a session that cannot run
// commands get) passes on what switch-to-configuration prints line by line as it comes, not once it ended.
import assert from 'node:assert/strict';
import type { MachinePhysical } from '../../../src/core/model.js';
import type { HostSession } from '../../../src/core/ports.js';
import { activate, copyClosure } from '../../../src/apply/hosts.js';
import { NixLocalStore } from '../../../src/nixstore/store.js';
import { NoneTargetProvider } from '../../../src/providers/none.js';
import { SshHostConnector } from '../../../src/ssh/connector.js';
import { createTestHost, makeClientKey, type ClientKey, type TestHost } from '../../support/hosts.js';
import { TestSystems } from './systems.js';

describe('an activation in the session', function () {
  this.timeout(120_000);
  const store = new NixLocalStore();
  let key: ClientKey;
  let host: TestHost;
  let systems: TestSystems;
  let session: HostSession | undefined;

  before(async function () {
    if (process.getuid?.() !== 0) this.skip();
    key = await makeClientKey();
    host = await createTestHost({ clientPublicKey: key.publicKey });
    systems = await TestSystems.create();
  });
  after(async function () {
    session?.close();
    await host?.destroy();
    await systems?.cleanup();
    await key?.cleanup();
  });

  it('passes on each line of its output while it still runs', async function () {
    const system = await systems.build({
      tag: `say-${process.pid}`,
      say: 'echo first; sleep 3; printf "second\\nthird"',
    });
    const machine: MachinePhysical = {
      name: 'host',
      targetEnv: 'none',
      targetHost: host.address,
      targetPort: host.port,
      targetUser: 'root',
      options: {},
      keys: [],
    };
    const endpoint = new NoneTargetProvider().describe(machine, undefined).endpoint!;
    session = await new SshHostConnector().connect(endpoint, { privateKey: key.privateKey }, {});
    await copyClosure(session, store, system);
    const lines: { line: string; at: number }[] = [];
    await activate(session, system, 'switch', undefined, undefined, (line) =>
      lines.push({ line, at: Date.now() }),
    );
    const ended = Date.now();
    // Each line once, in order, the last one even without its newline.
    assert.deepEqual(
      lines.map((l) => l.line),
      ['first', 'second', 'third'],
    );
    // The first line came while the activation slept, seconds before it ended.
    assert.ok(ended - lines[0]!.at >= 2000, `first line ${ended - lines[0]!.at} ms before the end`);
    assert.equal(await host.currentSystem(), system);
  });
});
