// The connection pool's rules, over sessions of its own making: which connection a session may reuse, when one is
// closed, and which failures of a reused connection are retried over a new one. (Over real hosts:
// integration/hosts/connection-reuse.test.)
import assert from 'node:assert/strict';
import { Reason } from '../../../src/api/conditions.js';
import { ReconixError } from '../../../src/core/errors.js';
import type { SshEndpoint } from '../../../src/core/model.js';
import type { ConnectOptions, HostConnector, HostKeyCheck, HostSession } from '../../../src/core/ports.js';
import { ConnectionPool } from '../../../src/ssh/pool.js';
import { eventually } from '../../support/workspace.js';

class FakeSession {
  alive = true;
  parked = 0;
  closed = false;
  hostKey = 'ssh-ed25519 AAAA';
  observed = 0;
  failObserve = false;
  constructor(readonly id: number) {}
  observe() {
    this.observed++;
    if (this.failObserve || !this.alive)
      return Promise.reject(new ReconixError(Reason.HostUnreachable, 'connection lost'));
    return Promise.resolve({ generations: [], bootId: String(this.id) });
  }
  setProfile() {
    if (!this.alive) return Promise.reject(new ReconixError(Reason.HostUnreachable, 'connection lost'));
    return Promise.resolve(1);
  }
  park() {
    this.parked++;
  }
  close() {
    this.closed = true;
    this.alive = false;
  }
}

class FakeConnector implements HostConnector {
  made: FakeSession[] = [];
  options: (ConnectOptions | undefined)[] = [];
  connect(_e: SshEndpoint, _a: unknown, _c: HostKeyCheck, options?: ConnectOptions): Promise<HostSession> {
    const s = new FakeSession(this.made.length);
    this.made.push(s);
    this.options.push(options);
    return Promise.resolve(s as unknown as HostSession);
  }
}

const host = (h = '127.0.0.2'): SshEndpoint => ({ host: h, port: 22, user: 'root' });
const auth = { privateKey: 'KEY-A' };
const pin = { pinned: 'ssh-ed25519 AAAA' };

describe('the connection pool', () => {
  let inner: FakeConnector;
  let pool: ConnectionPool;
  beforeEach(() => {
    inner = new FakeConnector();
    pool = new ConnectionPool(inner, { idleMs: 60_000 });
  });
  afterEach(() => pool.close());

  it('gives a released connection to the next session of the same endpoint, user, key and pin', async () => {
    const a = await pool.connect(host(), auth, pin);
    await a.observe();
    a.close();
    assert.equal(inner.made[0]!.parked, 1, "the host's serve process is let go of when parked");
    assert.equal(inner.made[0]!.closed, false);
    const b = await pool.connect(host(), auth, pin);
    assert.equal((await b.observe()).bootId, '0');
    assert.deepEqual(pool.counts(), { opened: 1, reused: 1, idle: 0 });
  });

  it('opens another connection for another endpoint, client key or pinned key', async () => {
    (await pool.connect(host(), auth, pin)).close();
    for (const [e, a, c] of [
      [host('127.0.0.3'), auth, pin],
      [{ ...host(), user: 'deploy' }, auth, pin],
      [host(), { privateKey: 'KEY-B' }, pin],
      [host(), auth, { pinned: 'ssh-ed25519 BBBB' }],
      [host(), auth, {}],
    ] as const) {
      const s = await pool.connect(e, a, c);
      assert.equal(pool.counts().reused, 0);
      s.close();
    }
    assert.equal(pool.counts().opened, 6);
  });

  it('keeps a connection made before the key was pinned for the session that pins the key the host presented', async () => {
    (await pool.connect(host(), auth, {})).close();
    const unpinned = await pool.connect(host(), auth, {});
    assert.equal(
      pool.counts().reused,
      0,
      'a connect without a pin accepts any key: it gets its own connection',
    );
    unpinned.close();
    const pinned = await pool.connect(host(), auth, { pinned: 'ssh-ed25519 AAAA root@host' });
    assert.equal(pool.counts().reused, 1, 'the pin is compared without its comment');
    pinned.close();
    await pool.connect(host(), auth, { pinned: 'ssh-ed25519 BBBB' });
    assert.equal(pool.counts().reused, 1, 'never for another key');
  });

  it('opens a new connection when asked for a fresh one, and never reuses a closed one', async () => {
    (await pool.connect(host(), auth, pin)).close();
    await pool.connect(host(), auth, pin, { fresh: true });
    assert.equal(pool.counts().opened, 2);
    assert.deepEqual(
      inner.options.map((o) => o?.fresh),
      [true, true],
    );
    const idle = inner.made[0]!;
    idle.alive = false; // the host closed it while it was idle
    const s = await pool.connect(host(), auth, pin);
    assert.equal(pool.counts().opened, 3);
    assert.equal(idle.closed, true);
    s.close();
  });

  it('retries a first read over a new connection when the kept one is gone, and never a change', async () => {
    (await pool.connect(host(), auth, pin)).close();
    inner.made[0]!.failObserve = true; // gone, but not yet noticed
    const s = await pool.connect(host(), auth, pin);
    assert.equal((await s.observe()).bootId, '1');
    assert.equal(inner.made[0]!.closed, true);
    s.close();

    const t = await pool.connect(host(), auth, pin); // the new connection, kept
    inner.made[1]!.setProfile = () => Promise.reject(new ReconixError(Reason.HostUnreachable, 'lost'));
    await assert.rejects(t.setProfile('/nix/store/x'), /lost/);
    assert.equal(pool.counts().opened, 2, 'a change is not sent again over a new connection');
  });

  it('does not retry a read that fails on a connection opened for this session', async () => {
    const s = await pool.connect(host(), auth, pin);
    inner.made[0]!.failObserve = true;
    await assert.rejects(s.observe(), (e: ReconixError) => e.reason === Reason.HostUnreachable);
    assert.equal(pool.counts().opened, 1);
  });

  it('closes a connection left unused for idleMs, and every idle one when the pool closes', async () => {
    const short = new ConnectionPool(inner, { idleMs: 30 });
    (await short.connect(host(), auth, pin)).close();
    await eventually('the idle connection to close', async () => inner.made[0]!.closed, 2000, 10);
    assert.equal(short.counts().idle, 0);
    (await pool.connect(host('127.0.0.5'), auth, pin)).close();
    pool.close();
    assert.equal(inner.made[1]!.closed, true);
    const late = await pool.connect(host('127.0.0.5'), auth, pin);
    late.close();
    assert.equal(inner.made[2]!.closed, true, 'a closed pool keeps nothing');
  });

  it('keeps one idle connection per host and key, and at most maxIdle in all', async () => {
    const a = await pool.connect(host(), auth, pin);
    const b = await pool.connect(host(), auth, pin);
    a.close();
    b.close();
    assert.equal(inner.made[0]!.closed, true, 'the older of two is closed');
    assert.equal(pool.counts().idle, 1);
    const small = new ConnectionPool(inner, { idleMs: 60_000, maxIdle: 2 });
    for (const h of ['127.0.0.6', '127.0.0.7', '127.0.0.8'])
      (await small.connect(host(h), auth, pin)).close();
    assert.equal(small.counts().idle, 2);
    assert.equal(inner.made[2]!.closed, true, 'the longest unused goes first');
    small.close();
  });

  it('refuses a session used after it was closed', async () => {
    const s = await pool.connect(host(), auth, pin);
    s.close();
    await assert.rejects(s.setProfile('/nix/store/x'), /session closed/);
  });
});
