// The `none` target against an existing host (a test host made by the harness), and the harness itself.
import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import { Reason } from '../../../src/api/conditions.js';
import { ReconixError } from '../../../src/core/errors.js';
import type { MachinePhysical } from '../../../src/core/model.js';
import { SshHostConnector } from '../../../src/ssh/connector.js';
import { NoneTargetProvider } from '../../../src/providers/none.js';
import type { HostSession } from '../../../src/core/ports.js';
import { copyClosure } from '../../../src/apply/hosts.js';
import { NixLocalStore } from '../../../src/nixstore/store.js';
import { createTestHost, makeClientKey, type ClientKey, type TestHost } from '../../support/hosts.js';
import { TestSystems } from './systems.js';

describe('the none target with an existing host', function () {
  this.timeout(120_000);
  const provider = new NoneTargetProvider();
  const connector = new SshHostConnector();
  const store = new NixLocalStore();
  const sessions: HostSession[] = [];
  let key: ClientKey;
  let host: TestHost;
  let systems: TestSystems;
  let system: string;
  let machine: MachinePhysical;

  const connect = async (pinned?: string): Promise<HostSession> => {
    const endpoint = provider.describe(machine, undefined).endpoint!;
    const s = await connector.connect(endpoint, { privateKey: key.privateKey }, pinned ? { pinned } : {});
    sessions.push(s);
    return s;
  };

  before(async function () {
    if (process.getuid?.() !== 0) this.skip();
    key = await makeClientKey();
    host = await createTestHost({ clientPublicKey: key.publicKey });
    systems = await TestSystems.create();
    system = await systems.build({ tag: `none-${process.pid}` });
    machine = {
      name: 'existing',
      targetEnv: 'none',
      targetHost: host.address,
      targetPort: host.port,
      targetUser: 'root',
      options: {},
      keys: [],
    };
  });

  after(async function () {
    for (const s of sessions) s.close();
    await host?.destroy();
    await systems?.cleanup();
    await key?.cleanup();
  });

  it('observes the host as existing and running at targetHost, with its address as a fact', async function () {
    const obs = await provider.observe('d', [machine], {});
    assert.deepEqual(obs.existing, {
      exists: true,
      running: true,
      endpoint: { host: host.address, port: 22, user: 'root' },
      facts: { privateIPv4: host.address },
    });
  });

  it('learns the host key on first contact, so the caller can pin it', async function () {
    const s = await connect();
    assert.equal(s.hostKey, host.hostKey);
  });

  it('deploys a system that the host then runs', async function () {
    const s = await connect(host.hostKey);
    await copyClosure(s, store, system);
    assert.equal(await s.setProfile(system), 1);
    await s.switchTo(system, 'switch');
    assert.equal(await host.currentSystem(), system);
    assert.deepEqual(await host.readActivations(), [`switch ${system}`]);
    const r = await host.exec(['readlink', '/nix/var/nix/profiles/system-1-link']);
    assert.equal(r.stdout.trim(), system);
  });

  it('finds a killed host unreachable, and after a restart /run is new and the host runs its profile', async function () {
    await host.exec(['touch', '/run/left-from-before']);
    await host.kill();
    assert.equal(host.pid, undefined);
    const err = await connect(host.hostKey).then(
      () => assert.fail('connected to a stopped host'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof ReconixError && err.reason === Reason.HostUnreachable);

    await host.restart();
    assert.equal(await host.currentSystem(), system);
    assert.notEqual((await host.exec(['test', '-e', '/run/left-from-before'])).exitCode, 0);
    const obs = await (await connect(host.hostKey)).observe();
    assert.equal(obs.profileSystem, system);
    assert.deepEqual(
      obs.generations.map((g) => g.number),
      [1],
    );
  });

  it('has nothing to create and refuses to stop a host it does not own', async function () {
    assert.deepEqual(
      await provider.create(machine, {
        deployment: 'd',
        clientPublicKey: '',
        facts: {},
        save: async () => {},
      }),
      {},
    );
    await assert.rejects(provider.stop('existing', {}), /does not manage its power/);
    await provider.destroy('existing', {});
    assert.notEqual(host.pid, undefined);
  });

  it('leaves nothing behind when a test host is destroyed', async function () {
    const extra = await createTestHost({ clientPublicKey: key.publicKey });
    const pid = extra.pid!;
    await extra.destroy();
    await assert.rejects(stat(extra.dir), /ENOENT/);
    await assert.rejects(stat(`/proc/${pid}/cmdline`), /ENOENT/);
  });
});
