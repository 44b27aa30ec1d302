import assert from 'node:assert/strict';
import { knownHostsLine, scpArgs, sshArgs } from '../../../src/cli/ssh.js';

const access = {
  endpoint: { host: '127.77.0.3', port: 2222, user: 'root' },
  hostKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBHqmzDrMlc8xmFEDHbUdJPkpm0Qw3oqvVSu3o6c1P4K',
};

describe('reconix ssh arguments', () => {
  it('checks the host strictly against the pinned key only, under an alias of the machine', () => {
    const args = sshArgs('web', access, '/state/keys/client_ed25519', '/tmp/kh', []);
    const opts = args.filter((_, i) => args[i - 1] === '-o');
    assert.ok(opts.includes('StrictHostKeyChecking=yes'));
    assert.ok(opts.includes('UserKnownHostsFile=/tmp/kh'));
    assert.ok(opts.includes('GlobalKnownHostsFile=/dev/null'));
    assert.ok(opts.includes('HostKeyAlias=reconix-web'));
    assert.ok(opts.includes('IdentitiesOnly=yes'));
    assert.deepEqual(args.slice(-5), ['-p', '2222', '-l', 'root', '127.77.0.3']);
    assert.equal(knownHostsLine('web', access.hostKey), `reconix-web ${access.hostKey}\n`);
  });

  it('quotes the command for the remote shell, and tames odd machine names in the alias', () => {
    const args = sshArgs('a b;c', access, 'k', 'kh', ['printf', '%s', "it's $HOME"]);
    assert.deepEqual(args.slice(-2), ['--', `printf %s 'it'\\''s $HOME'`]);
    assert.ok(args.includes('HostKeyAlias=reconix-a_b_c'));
    assert.ok(knownHostsLine('a b;c', access.hostKey).startsWith('reconix-a_b_c '));
  });

  it('gives scp the same key and host key checks, the remote side to or from the machine, IPv6 bracketed', () => {
    const target = { machine: 'web', access, keyFile: '/state/keys/client_ed25519' };
    const to = scpArgs(target, '/tmp/kh', false, 'local.txt', '/root/x');
    const opts = to.filter((_, i) => to[i - 1] === '-o');
    for (const o of ['StrictHostKeyChecking=yes', 'UserKnownHostsFile=/tmp/kh', 'HostKeyAlias=reconix-web']) {
      assert.ok(opts.includes(o), o);
    }
    assert.deepEqual(to.slice(-3), ['--', 'local.txt', 'root@127.77.0.3:/root/x']);
    assert.deepEqual(to.slice(to.indexOf('-P'), to.indexOf('-P') + 2), ['-P', '2222']);
    const v6 = { ...target, access: { ...access, endpoint: { host: 'fd00::3', port: 22, user: 'ops' } } };
    assert.deepEqual(scpArgs(v6, 'kh', true, '/etc/motd', '.').slice(-2), ['ops@[fd00::3]:/etc/motd', '.']);
  });
});
