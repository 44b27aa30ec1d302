import assert from 'node:assert/strict';
import {
  authorizedKeysLine,
  checkAddressPrefix,
  checkBaseDir,
  hostDirName,
  hostLayout,
  renderSshdConfig,
} from '../../../src/providers/local/layout.js';
import { parseHostRecord } from '../../../src/providers/local/host.js';
import { HOST_SCRIPT, hostArgv } from '../../../src/providers/local/sshd.js';

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGNtkUZqHr8MYmeLDvLS6qmjWw6MnMUQKJwbi9XZ0Il3 fixture';

describe('local host layout', function () {
  it('names a host directory by a hash of deployment and machine, never by the raw name', function () {
    const name = hostDirName('web', 'a;touch /tmp/x $(id)');
    assert.match(name, /^h-[0-9a-f]{24}$/);
    assert.equal(hostDirName('web', 'a;touch /tmp/x $(id)'), name);
    assert.notEqual(hostDirName('web', 'db'), hostDirName('webd', 'b'));
  });

  it('gives every host directory its own place inside the host for sshd', function () {
    assert.notEqual(hostLayout('/srv/a/h-1').inner, hostLayout('/srv/b/h-1').inner);
    assert.match(hostLayout('/srv/a/h-1').inner, /^\/run\/reconix\/[0-9a-f]{16}$/);
  });

  it('writes an sshd configuration for key-only root login on one address', function () {
    const layout = hostLayout('/srv/hosts/h-1');
    const config = renderSshdConfig(layout, { address: '127.77.0.5', port: 22 }).split('\n');
    for (const line of [
      'ListenAddress 127.77.0.5',
      'Port 22',
      `HostKey ${layout.inner}/host_key`,
      `AuthorizedKeysFile ${layout.inner}/authorized_keys`,
      'PermitRootLogin prohibit-password',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'StrictModes no',
      'PidFile /run/sshd.pid',
    ]) {
      assert.ok(config.includes(line), `missing: ${line}`);
    }
  });

  it('passes the host directory to the namespace script as a parameter, never inside the script', function () {
    const layout = hostLayout('/srv/hosts/h-1');
    const argv = hostArgv(layout, { unshare: '/usr/bin/unshare', sshd: '/usr/sbin/sshd' });
    assert.deepEqual(argv.slice(0, 7), [
      '/usr/bin/unshare',
      '--mount',
      '--propagation',
      'private',
      'sh',
      '-c',
      HOST_SCRIPT,
    ]);
    assert.deepEqual(argv.slice(8), ['/srv/hosts/h-1', layout.inner, '/usr/sbin/sshd']);
    assert.ok(!HOST_SCRIPT.includes('/srv'));
  });

  it('accepts one public key line and refuses options or extra lines', function () {
    assert.equal(authorizedKeysLine(`  ${KEY}\n`), `${KEY}\n`);
    assert.throws(() => authorizedKeysLine(`command="sh" ${KEY}`));
    assert.throws(() => authorizedKeysLine(`${KEY}\n${KEY}`));
    assert.throws(() => authorizedKeysLine(''));
  });

  for (const dir of ['relative/dir', '/with space', '/per%cent', '/quo"te', '/']) {
    it(`refuses ${JSON.stringify(dir)} as a base directory`, function () {
      assert.throws(() => checkBaseDir(dir), /base directory/);
    });
  }

  it('normalises a plain base directory', function () {
    assert.equal(checkBaseDir('/var/lib/reconix//hosts/'), '/var/lib/reconix/hosts');
  });

  it('takes address prefixes of two loopback octets only', function () {
    assert.equal(checkAddressPrefix('127.77'), '127.77');
    for (const bad of ['10.0', '127.256', '127', '127.1.2']) assert.throws(() => checkAddressPrefix(bad));
  });

  it('reads back a host record and drops what is not one', function () {
    const r = { dir: '/d', address: '127.77.0.1', port: 22, pid: 5, hostPublicKey: 'k', other: 1 };
    assert.deepEqual(parseHostRecord(r), {
      dir: '/d',
      address: '127.77.0.1',
      port: 22,
      pid: 5,
      hostPublicKey: 'k',
    });
    assert.equal(parseHostRecord({ dir: '/d' }), undefined);
    assert.equal(parseHostRecord(undefined), undefined);
  });
});
