import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { ReconixError } from '../../../src/core/errors.js';
import { execAll, knownHostsLine, type SshTarget } from '../../../src/cli/ssh.js';
import { singleHostKey } from '../../../src/ssh/host-key.js';

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILWzzmJ71RO+rrmtGCkU+qwXxAMI+lp+6qg7x9/2Vn2T';
const INJECTED = `${KEY}\n@cert-authority * ${KEY}`;

const target = (machine: string, hostKey: string): SshTarget => ({
  machine,
  access: { endpoint: { host: '127.0.0.1', port: 1, user: 'root' }, hostKey } as SshTarget['access'],
  keyFile: '/nonexistent',
});
const sshDirs = async (): Promise<string[]> =>
  (await readdir(tmpdir())).filter((n) => n.startsWith('reconix-ssh-'));

describe('host keys written to known_hosts', () => {
  it('are written as exactly the one key they are', () => {
    assert.equal(knownHostsLine('web', ` ${KEY} `), `reconix-web ${KEY}\n`);
  });

  it('drop the comment of a key pasted from a .pub file', () => {
    assert.equal(knownHostsLine('web', `${KEY} root@web`), `reconix-web ${KEY}\n`);
  });

  const bad: [string, string][] = [
    ['a second line with @cert-authority', INJECTED],
    ['a carriage return and a second key', `${KEY}\r* ${KEY}`],
    ['a comment that hides a second line', `${KEY} root@web\n@cert-authority * ${KEY}`],
    ['options in front', `@revoked ${KEY}`],
    ['a type that its data does not hold', `ssh-rsa ${KEY.split(' ')[1]}`],
    ['no data', 'ssh-ed25519'],
  ];
  for (const [what, key] of bad) {
    it(`refuse a key with ${what}, naming the machine`, () => {
      assert.throws(
        () => singleHostKey('web', key),
        (err: unknown) =>
          err instanceof ReconixError &&
          /^web: deployment\.hostPublicKey is not one SSH host key/.test(err.message),
      );
    });
  }

  it('make reconix exec refuse an injected key before anything is written or run', async () => {
    const before = await sshDirs();
    await assert.rejects(
      execAll(
        [target('db', KEY), target('web', INJECTED)],
        ['true'],
        2,
        () => undefined,
        () => undefined,
      ),
      /^ReconixError: web: deployment\.hostPublicKey is not one SSH host key|web: deployment\.hostPublicKey/,
    );
    assert.deepEqual(await sshDirs(), before);
  });
});
