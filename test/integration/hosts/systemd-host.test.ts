// The test hosts that run under a real systemd: an SSH session's systemctl talks to the host's own systemd and
// sees only the host's units, a power cut and a boot give a fresh systemd, and destroy() leaves nothing behind.
import assert from 'node:assert/strict';
import { access, readdir, readFile, readlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import type { HostSession } from '../../../src/core/ports.js';
import { hostLayout } from '../../../src/providers/local/layout.js';
import { SshHostConnector } from '../../../src/ssh/connector.js';
import { createTestHost, makeClientKey, type ClientKey, type TestHost } from '../../support/hosts.js';
import { peerCgroups } from '../../support/peer-cgroups.js';
import { eventually } from '../../support/workspace.js';

describe('test hosts under a real systemd', function () {
  this.timeout(120_000);
  const connector = new SshHostConnector();
  const sessions: HostSession[] = [];
  let key: ClientKey;
  const hosts: TestHost[] = [];

  const start = async () => {
    const h = await createTestHost({ clientPublicKey: key.publicKey, systemd: true });
    hosts.push(h);
    return h;
  };
  const sh = async (h: TestHost, command: string) => {
    const s = await connector.connect(
      { host: h.address, port: h.port, user: 'root' },
      { privateKey: key.privateKey },
      { pinned: h.hostKey },
    );
    sessions.push(s);
    const r = await s.runCommand!(command);
    assert.equal(r.exitCode, 0, `${command}: ${r.stderr}`);
    return r.stdout.trim();
  };

  before(async function () {
    if (process.getuid?.() !== 0) this.skip();
    key = await makeClientKey();
  });
  after(async () => {
    for (const s of sessions) s.close();
    for (const h of hosts) await h.destroy();
    await key?.cleanup();
  });

  it("gives SSH sessions a systemctl that talks to the host's own systemd, which has only the host's units", async () => {
    // GIVEN two hosts under systemd
    const [a, b] = [await start(), await start()];
    // THEN a session's PID 1 is systemd, running as in a container, and the check's command answers
    assert.equal(await sh(a, 'cat /proc/1/comm'), 'systemd');
    assert.equal(await sh(a, 'systemctl is-system-running'), 'running');
    assert.equal(await sh(a, 'systemctl list-units --failed --no-legend --plain'), '');
    assert.match(await sh(a, 'systemd-detect-virt --container'), /container-other|reconix/);
    // AND the machine's own units are not there, only those of the host
    const files = await sh(a, 'systemctl list-unit-files --no-legend --plain --type=service');
    assert.match(files, /^reconix-sshd\.service/m);
    assert.doesNotMatch(files, /^(ssh|cron|systemd-journald)\.service/m);
    // WHEN a unit fails on host a
    await sh(a, 'systemd-run --unit=demo-fails /bin/false');
    // THEN only a's systemd knows it
    await eventually('the unit to fail', async () =>
      /^demo-fails\.service /.test(await sh(a, 'systemctl list-units --failed --no-legend --plain')),
    );
    assert.equal(await sh(b, 'systemctl list-units --failed --no-legend --plain'), '');
  });

  it('boots a fresh systemd after a power cut, with nothing failed', async () => {
    const h = await start();
    await sh(h, 'systemd-run --unit=demo-fails /bin/false');
    await eventually('the unit to fail', async () =>
      /^demo-fails\.service /.test(await sh(h, 'systemctl list-units --failed --no-legend --plain')),
    );
    const before = h.pid!;
    // WHEN the host loses power and boots again
    await h.kill();
    assert.equal(h.pid, undefined);
    assert.equal(await alive(before), false);
    await h.restart();
    // THEN a new systemd runs, which knows of no failure
    assert.notEqual(h.pid, before);
    assert.equal(await sh(h, 'systemctl list-units --failed --no-legend --plain'), '');
  });

  it("leaves no process, mount, namespace or cgroup behind, and never touches the machine's hostname", async () => {
    const name = hostname();
    const h = await start();
    await sh(h, 'systemd-run --unit=demo-sleeps sleep 600');
    const namespaces = await Promise.all(
      ['mnt', 'pid', 'uts', 'cgroup'].map((ns) => readlink(`/proc/${h.pid}/ns/${ns}`)),
    );
    const members = await processesIn(namespaces);
    assert.ok(members.length >= 4, `unshare, systemd, sshd and sleep: ${members.join(', ')}`);
    const cgroups = (await peerCgroups(hostLayout(h.dir))).dirs;
    for (const cg of cgroups) await access(cg);
    // WHEN the host is destroyed
    await h.destroy();
    // THEN nothing of it runs or stays mounted, its cgroups are gone and the machine's hostname is as it was
    assert.deepEqual(await processesIn(namespaces), []);
    for (const pid of members) assert.equal(await alive(pid), false, `PID ${pid}`);
    for (const cg of cgroups) await assert.rejects(access(cg), { code: 'ENOENT' });
    assert.doesNotMatch(await readFile('/proc/self/mountinfo', 'utf8'), new RegExp(h.dir));
    assert.equal(hostname(), name);
  });
});

/** PIDs of processes in any of `namespaces` (links like "mnt:[4026532]"). */
async function processesIn(namespaces: string[]): Promise<number[]> {
  const found: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    for (const ns of ['mnt', 'pid', 'uts', 'cgroup']) {
      const link = await readlink(`/proc/${entry}/ns/${ns}`).catch(() => undefined);
      if (link !== undefined && namespaces.includes(link)) {
        found.push(Number(entry));
        break;
      }
    }
  }
  return found;
}

async function alive(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  return stat !== undefined && !/\) [ZX] /.test(stat);
}
