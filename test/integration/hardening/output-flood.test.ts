// A real host that floods its output (20x the cap, small enough to finish within the session's short command
// timeout on a loaded machine) or hangs: the controller keeps a bounded part, memory stays bounded, and a
// hanging command is cut off by the session's command timeout.
import assert from 'node:assert/strict';
import type { HostSession } from '../../../src/core/ports.js';
import { SshHostConnector } from '../../../src/ssh/connector.js';
import { ExecError } from '../../../src/util/exec.js';
import { createTestHost, makeClientKey, type ClientKey, type TestHost } from '../../support/hosts.js';
import { retainedGrowth } from '../../support/memory.js';

const LIMIT = 2 ** 20;

describe('a host that floods its output or hangs', function () {
  this.timeout(180_000);
  let key: ClientKey;
  let host: TestHost;
  let session: HostSession;

  before(async () => {
    key = await makeClientKey();
    host = await createTestHost({ clientPublicKey: key.publicKey });
    const connector = new SshHostConnector({ commandTimeoutMs: 2000 });
    session = await connector.connect(
      { host: host.address, port: host.port, user: 'root' },
      { privateKey: key.privateKey },
      { pinned: host.hostKey },
    );
  });
  after(async () => {
    session?.close();
    await host?.destroy();
    await key?.cleanup();
  });

  it('has 20 MB of stdout and of stderr cut to 1 MiB each, saying so, with memory bounded', async () => {
    let stdout = '';
    let stderr = '';
    const grown = await retainedGrowth(async () => {
      const r = await session.runCommand!('yes | head -c 20000000; yes | head -c 20000000 >&2; exit 7');
      assert.equal(r.exitCode, 7);
      ({ stdout, stderr } = r);
    });
    for (const text of [stdout, stderr]) {
      assert.ok(text.length <= LIMIT + 200, `kept ${text.length} bytes`);
      assert.match(text, /bytes of output cut: 20000000 written, the first and last 524288 kept/);
    }
    assert.ok(grown < 32, `it holds ${grown.toFixed(0)} MiB more`);
  });

  it('is cut off by the command timeout and reported as timed out', async () => {
    const started = Date.now();
    const r = await session.runCommand!('sleep 60');
    assert.equal(r.timedOut, true);
    assert.ok(Date.now() - started < 15_000, 'cut off at the command timeout');
    assert.match(new ExecError(r).message, /^sleep 60 timed out/);
  });
});
