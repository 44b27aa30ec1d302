// Two real local hosts, driven over SSH: observe, copy, activate, roll back, reboot, destroy.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Reason } from '../../../src/api/conditions.js';
import { ReconixError } from '../../../src/core/errors.js';
import type { MachinePhysical, TargetRecord } from '../../../src/core/model.js';
import { SshHostConnector } from '../../../src/ssh/connector.js';
import { fingerprint } from '../../../src/ssh/host-key.js';
import { LocalTargetProvider } from '../../../src/providers/local/provider.js';
import { copyClosure } from '../../../src/apply/hosts.js';
import type { HostSession, NarSource, StorePathInfo, TargetContext } from '../../../src/core/ports.js';
import { sha256Base16 } from '../../../src/nixstore/nar.js';
import { NixLocalStore } from '../../../src/nixstore/store.js';
import { run } from '../../../src/util/exec.js';
import { makeClientKey, type ClientKey } from '../../support/hosts.js';
import { TestSystems } from './systems.js';

const machine = (name: string): MachinePhysical => ({
  name,
  targetEnv: 'local',
  targetPort: 22,
  targetUser: 'root',
  options: {},
  keys: [],
});

async function rejectsWith(p: Promise<unknown>, reason: Reason): Promise<ReconixError> {
  const err = await p.then(
    () => assert.fail(`expected a ${reason} failure`),
    (e: unknown) => e,
  );
  assert.ok(err instanceof ReconixError, `expected a ReconixError, got ${String(err)}`);
  assert.equal(err.reason, reason, err.message);
  return err;
}

describe('local hosts over SSH', function () {
  this.timeout(120_000);
  const deployment = `ssh-test-${process.pid}`;
  const connector = new SshHostConnector();
  const store = new NixLocalStore();
  const saved: Record<string, TargetRecord[]> = {};
  const records: Record<string, TargetRecord> = {};
  const sessions: HostSession[] = [];
  let baseDir: string;
  let key: ClientKey;
  let provider: LocalTargetProvider;
  let systems: TestSystems;
  let system1: string;
  let system2: string;

  const ctx = (name: string): TargetContext => ({
    deployment,
    clientPublicKey: key.publicKey,
    facts: {},
    save: async (r) => void (saved[name] ??= []).push(r),
  });
  const endpointOf = (name: string) => provider.describe(machine(name), records[name]).endpoint!;
  const pinOf = (name: string) => provider.describe(machine(name), records[name]).facts.hostPublicKey!;
  /** nix-store inside a host's own mount namespace; fails unless it exits 0. */
  const hostStore = async (name: string, args: string[]): Promise<string> => {
    const pid = records[name]?.pid;
    if (pid === undefined) throw new Error(`${name} is not running`);
    return (await run('nsenter', ['--mount', '--target', String(pid), '--', 'nix-store', ...args])).stdout;
  };
  /** The processes named `comm` below `pid` (the host's sshd): what this test's sessions started there. */
  const descendants = async (pid: number, comm: string): Promise<number[]> => {
    const parents = new Map<number, number>();
    const names = new Map<number, string>();
    for (const entry of await readdir('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
      const m = /^(\d+) \((.*)\) \S+ (\d+)/.exec(stat);
      if (m) {
        parents.set(Number(m[1]), Number(m[3]));
        names.set(Number(m[1]), m[2]!);
      }
    }
    const below = (p: number): boolean => {
      for (let q = parents.get(p); q !== undefined && q > 1; q = parents.get(q)) if (q === pid) return true;
      return false;
    };
    return [...names].filter(([p, n]) => n === comm && below(p)).map(([p]) => p);
  };
  /** A system no host has seen yet: its own top path and the rest of its closure. */
  const freshSystem = async (tag: string) => {
    const system = await systems.build({ tag: `${tag}-${process.pid}` });
    const infos = (await store.closures([system])).get(system)!;
    return {
      top: infos.find((i) => i.path === system)!,
      dependencies: infos.filter((i) => i.path !== system),
    };
  };
  const connect = async (name: string, pinned = pinOf(name)): Promise<HostSession> => {
    const s = await connector.connect(endpointOf(name), { privateKey: key.privateKey }, { pinned });
    sessions.push(s);
    return s;
  };

  before(async function () {
    if (process.getuid?.() !== 0) this.skip();
    key = await makeClientKey();
    baseDir = await mkdtemp(join(tmpdir(), 'reconix-local-hosts-'));
    provider = new LocalTargetProvider({ baseDir });
    systems = await TestSystems.create();
    system1 = await systems.build({ tag: `one-${process.pid}` });
    system2 = await systems.build({ tag: `two-${process.pid}` });
    for (const name of ['web', 'db']) records[name] = await provider.create(machine(name), ctx(name));
  });

  after(async function () {
    for (const s of sessions) s.close();
    for (const [name, r] of Object.entries(records)) await provider.destroy(name, r, ctx(name));
    await systems?.cleanup();
    if (baseDir) await rm(baseDir, { recursive: true, force: true });
    await key?.cleanup();
  });

  it('records the host before starting it, then its PID, and reports it running', async function () {
    const [first, last] = [saved.web?.[0], saved.web?.at(-1)];
    assert.ok(first && last);
    assert.equal(first.pid, undefined);
    assert.equal(typeof last.pid, 'number');
    const obs = await provider.observe(deployment, [machine('web'), machine('db')], {
      web: { targetEnv: 'local', target: records.web! },
      db: { targetEnv: 'local', target: records.db! },
    });
    assert.equal(obs.web?.running, true);
    assert.equal(obs.db?.running, true);
    assert.notEqual(obs.web?.endpoint?.host, obs.db?.endpoint?.host);
    assert.match(obs.web?.facts.privateIPv4 ?? '', /^127\.77\.\d+\.\d+$/);
  });

  it('observes a fresh host with no system and no generations', async function () {
    const obs = await (await connect('web')).observe();
    assert.deepEqual(obs.generations, []);
    assert.equal(obs.currentSystem, undefined);
    assert.equal(obs.profileSystem, undefined);
    assert.match(obs.bootId ?? '', /^[0-9a-f-]{36}$/);
  });

  it('pins the key the host was created with, so the first connection already checks it', async function () {
    const s = await connect('web');
    assert.equal(s.hostKey, pinOf('web'));
  });

  it('copies only missing paths, into one host and not the other', async function () {
    const web = await connect('web');
    const db = await connect('db');
    const infos = (await store.closures([system1])).get(system1)!;
    const closure = infos.map((i) => i.path);
    assert.deepEqual(await web.missingPaths(closure), closure);
    const stats = await web.importPaths(infos, store);
    assert.equal(stats.paths, closure.length);
    assert.equal(
      stats.bytes,
      infos.reduce((n, i) => n + i.narSize, 0),
    );
    assert.deepEqual(await web.missingPaths(closure), []);
    assert.deepEqual(await db.missingPaths(closure), closure);
    // The host's own database records the hashes Nix recorded here.
    const recorded = await hostStore('web', ['--query', '--hash', system1]);
    const top = infos.find((i) => i.path === system1)!;
    assert.equal(sha256Base16(recorded.trim()), sha256Base16(top.narHash));
  });

  it('activates a system as generation 1 and shows it as current', async function () {
    const web = await connect('web');
    assert.equal(await web.setProfile(system1), 1);
    await web.switchTo(system1, 'switch');
    const obs = await web.observe();
    assert.equal(obs.currentSystem, system1);
    assert.equal(obs.profileSystem, system1);
    assert.deepEqual(
      obs.generations.map((g) => [g.number, g.path, g.current]),
      [[1, system1, true]],
    );
    assert.ok(Math.abs(obs.generations[0]!.createdAt - Date.now() / 1000) < 600);
  });

  it('makes a second system generation 2 and switches back to generation 1', async function () {
    const web = await connect('web');
    await copyClosure(web, store, system2);
    assert.equal(await web.setProfile(system2), 2);
    await web.switchTo(system2, 'switch');
    assert.equal((await web.observe()).currentSystem, system2);

    assert.equal(await web.switchGeneration(1), system1);
    const gens = await web.listGenerations();
    assert.deepEqual(
      gens.map((g) => [g.number, g.current]),
      [
        [1, true],
        [2, false],
      ],
    );
  });

  it('deletes generations that are not current', async function () {
    const web = await connect('web');
    await web.deleteGenerations([2]);
    assert.deepEqual(
      (await web.listGenerations()).map((g) => g.number),
      [1],
    );
  });

  it('reports a failing activation with its output', async function () {
    const broken = await systems.build({ tag: `broken-${process.pid}`, fail: true });
    const web = await connect('web');
    await copyClosure(web, store, broken);
    const err = await rejectsWith(web.switchTo(broken, 'test'), Reason.ActivationFailed);
    assert.match(err.message, /exited with code 3/);
    assert.match(err.message, /activation of broken-\d+ failed/);
  });

  it('copies in the export format when the serve protocol spoken is older than 2.5', async function () {
    const legacy = new SshHostConnector({ serveProtocolVersion: 0x204 });
    const db = await legacy.connect(
      endpointOf('db'),
      { privateKey: key.privateKey },
      { pinned: pinOf('db') },
    );
    sessions.push(db);
    const infos = (await store.closures([system2])).get(system2)!;
    const missing = new Set(await db.missingPaths(infos.map((i) => i.path)));
    assert.ok(missing.size > 0);
    const stats = await db.importPaths(
      infos.filter((i) => missing.has(i.path)),
      store,
    );
    assert.equal(stats.paths, missing.size);
    assert.deepEqual(await db.missingPaths(infos.map((i) => i.path)), []);
  });

  it('refuses a path whose bytes do not match the recorded hash, and the host does not keep it', async function () {
    const db = await connect('db');
    const { top, dependencies } = await freshSystem('tampered');
    await db.importPaths(dependencies, store);
    const tampered: NarSource = {
      async *nar(path) {
        const chunks: Buffer[] = [];
        for await (const c of store.nar(path)) chunks.push(Buffer.from(c)); // lent: copy
        const all = Buffer.concat(chunks);
        // Same size, one letter of a file's contents changed (the tag is in the system's files).
        const at = all.lastIndexOf(`tampered-${process.pid}`);
        assert.ok(at > 0, 'the tag is in the NAR');
        all[at] = 'T'.charCodeAt(0);
        yield all;
      },
    };
    const err = await rejectsWith(db.importPaths([top], tampered), Reason.CopyFailed);
    assert.match(err.message, /hash mismatch/);
    assert.deepEqual(await db.missingPaths([top.path]), [top.path]);
    await db.importPaths([top], store);
    assert.deepEqual(await db.missingPaths([top.path]), []);
  });

  it("fails a copy whose host importer dies half-way with the host's error; the next copy starts afresh", async function () {
    const web = await connect('web');
    const { top, dependencies } = await freshSystem('importer-killed');
    const sshd = Number(records.web!.pid);
    const earlier = new Set(await descendants(sshd, 'nix-store')); // other sessions' importers
    let killed: number[] | undefined;
    const dying: NarSource = {
      async *nar(path) {
        for await (const c of store.nar(path)) {
          yield Buffer.from(c);
          if (!killed) {
            killed = (await descendants(sshd, 'nix-store')).filter((p) => !earlier.has(p));
            for (const p of killed) process.kill(p, 'SIGKILL');
          }
        }
      },
    };
    const err = await rejectsWith(web.importPaths([...dependencies, top], dying), Reason.CopyFailed);
    assert.ok(killed && killed.length === 1, `killed ${String(killed)}`);
    assert.match(err.message, /importing \d+ store paths failed: nix-store --serve exited/);
    await copyClosure(web, store, top.path);
    assert.deepEqual(await web.missingPaths([top.path]), []);
  });

  it('fails a copy whose local read fails, and the session stays usable', async function () {
    const web = await connect('web');
    const absent = '/nix/store/00000000000000000000000000000000-not-there';
    const info: StorePathInfo = {
      path: absent,
      narHash: 'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=',
      narSize: 112,
      references: [],
    };
    const err = await rejectsWith(web.importPaths([info], store), Reason.CopyFailed);
    assert.match(err.message, /reading the local store failed: .*ENOENT/);
    assert.deepEqual(await web.missingPaths([absent]), [absent]);

    // Metadata that cannot be sent fails the same way, before the host could wait for it forever.
    const { top, dependencies } = await freshSystem('bad-hash');
    await web.importPaths(dependencies, store);
    const bad = await rejectsWith(
      web.importPaths([{ ...top, narHash: 'md5:nonsense' }], store),
      Reason.CopyFailed,
    );
    assert.match(bad.message, /not a SHA-256 hash/);
    assert.deepEqual(await web.missingPaths([top.path]), [top.path]);
    await web.importPaths([top], store);
    assert.deepEqual(await web.missingPaths([top.path]), []);
  });

  it('stops a copy whose NAR is not the size recorded, before the host takes it', async function () {
    const db = await connect('db');
    const { top, dependencies } = await freshSystem('sized');
    await db.importPaths(dependencies, store);
    for (const narSize of [top.narSize + 8, top.narSize - 8]) {
      const err = await rejectsWith(db.importPaths([{ ...top, narSize }], store), Reason.CopyFailed);
      assert.match(err.message, /its NAR (has \d+ bytes, not|is longer than) the \d+ (bytes )?recorded/);
      assert.deepEqual(await db.missingPaths([top.path]), [top.path]);
    }
    await db.importPaths([top], store);
    assert.deepEqual(await db.missingPaths([top.path]), []);
  });

  it('gives up on a short command that takes longer than the session allows', async function () {
    const impatient = new SshHostConnector({ commandTimeoutMs: 1 });
    const s = await impatient.connect(
      endpointOf('web'),
      { privateKey: key.privateKey },
      { pinned: pinOf('web') },
    );
    sessions.push(s);
    const err = await rejectsWith(s.observe(), Reason.HostUnreachable);
    assert.match(err.message, /timed out/);
  });

  it('refuses a host whose key changed, naming both fingerprints', async function () {
    const other = pinOf('db');
    const err = await rejectsWith(connect('web', other), Reason.HostKeyMismatch);
    assert.equal(err.reaction, 'stall');
    assert.ok(err.message.includes(fingerprint(other)), err.message);
    assert.ok(err.message.includes(fingerprint(pinOf('web'))), err.message);
    assert.ok(err.message.includes(endpointOf('web').host), err.message);
  });

  it('treats a killed host as unreachable and boots it into its system profile, generations kept', async function () {
    const before = await (await connect('web')).observe();
    await provider.stop('web', records.web!, ctx('web'));
    const down = await provider.observe(deployment, [machine('web')], {
      web: { targetEnv: 'local', target: records.web! },
    });
    assert.equal(down.web?.exists, true);
    assert.equal(down.web?.running, false);
    await rejectsWith(connect('web'), Reason.HostUnreachable);

    records.web = await provider.start('web', records.web!, ctx('web'));
    const after = await (await connect('web')).observe();
    // A boot: /run is new, and the machine runs its profile's current generation, as NixOS comes up.
    assert.equal(after.currentSystem, system1);
    assert.deepEqual(after.generations, before.generations);
    assert.equal(after.profileSystem, system1);
    assert.notEqual(records.web.pid, undefined);
  });

  it('fails a session whose host went away with HostUnreachable', async function () {
    const s = await connect('db');
    await provider.stop('db', records.db!, ctx('db'));
    await rejectsWith(s.observe(), Reason.HostUnreachable);
    records.db = await provider.start('db', records.db!, ctx('db'));
  });

  it('creates a host for a machine name full of shell syntax without running any of it', async function () {
    const marker = `/tmp/pwned-${process.pid}`;
    const name = `a;touch ${marker}`;
    const record = await provider.create(machine(name), ctx(name));
    try {
      const s = await connector.connect(
        provider.describe(machine(name), record).endpoint!,
        { privateKey: key.privateKey },
        { pinned: provider.describe(machine(name), record).facts.hostPublicKey! },
      );
      s.close();
    } finally {
      await provider.destroy(name, record, ctx(name));
    }
    await assert.rejects(stat(marker), /ENOENT/);
  });

  it('destroys a host: its process and its directory are gone', async function () {
    const name = 'short-lived';
    const record = await provider.create(machine(name), ctx(name));
    const pid = record.pid as number;
    const dir = record.dir as string;
    await provider.destroy(name, record, ctx(name));
    await assert.rejects(stat(dir), /ENOENT/);
    await assert.rejects(stat(`/proc/${pid}/cmdline`), /ENOENT/);
    const obs = await provider.observe(deployment, [machine(name)], {
      [name]: { targetEnv: 'local', target: record },
    });
    assert.equal(obs[name]?.exists, false);
  });

  it('refuses a base directory sshd could misread only when a host is made', async function () {
    const odd = new LocalTargetProvider({ baseDir: '/tmp/with space' });
    const obs = await odd.observe(deployment, [machine('x')], {});
    assert.equal(obs.x?.exists, false);
    const err = await rejectsWith(odd.create(machine('x'), ctx('x')), Reason.ProvisioningFailed);
    assert.match(err.message, /base directory/);
  });

  it('refuses to create hosts without root', async function () {
    const unprivileged = new LocalTargetProvider({ baseDir, isRoot: () => false });
    await rejectsWith(unprivileged.create(machine('x'), ctx('x')), Reason.RootRequired);
  });
});
