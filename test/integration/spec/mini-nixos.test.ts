import assert from 'node:assert/strict';
import { lstat, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { SystemRef } from '../../../src/core/model.js';
import { NixEvaluator } from '../../../src/evaluate/evaluator.js';
import { NixLocalStore } from '../../../src/nixstore/store.js';
import { runProcess } from '../../../src/util/exec.js';
import { scratch, type Scratch } from './helpers.js';

// switch-to-configuration acts on /run and /nix/var; RECONIX_ACTIVATION_ROOT moves both under a test directory.
describe('systems of the mini NixOS builder (real Nix)', function () {
  this.timeout(60_000);
  let tmp: Scratch;
  let root: string;
  const store = new NixLocalStore();

  beforeEach(async () => {
    tmp = await scratch('mini');
    root = join(tmp.dir, 'host');
  });
  afterEach(async () => {
    await tmp.remove();
  });

  async function system(machine: string): Promise<string> {
    const evaluator = new NixEvaluator({ scratchDir: join(tmp.dir, 'eval') });
    const net = await tmp.file('network.nix', machine);
    const systems: Record<string, SystemRef> = await evaluator.systems(
      tmp.source([net]),
      { machines: {}, resources: {} },
      ['m'],
    );
    const m = systems.m;
    assert.ok(m);
    await store.realise([m.drvPath], join(tmp.dir, 'roots'));
    return m.outPath;
  }

  const switchTo = (out: string, action: string) =>
    runProcess(join(out, 'bin/switch-to-configuration'), [action], {
      env: { PATH: '/usr/bin:/bin', RECONIX_ACTIVATION_ROOT: root },
    });

  async function logLines(): Promise<string[]> {
    const text = await readFile(join(root, 'nix/var/reconix/activations.log'), 'utf8').catch(() => '');
    return text.split('\n').filter((l) => l !== '');
  }

  it('has the files of a NixOS-shaped system', async () => {
    const out = await system(
      `{ m = { networking.hostName = "box"; environment.etc."a/b.conf".text = "x=1"; }; }`,
    );
    assert.equal(await readFile(join(out, 'etc/a/b.conf'), 'utf8'), 'x=1');
    assert.equal(await readFile(join(out, 'etc/hostname'), 'utf8'), 'box\n');
    assert.equal(await readFile(join(out, 'nixos-version'), 'utf8'), 'mini-1\n');
    assert.match(out, /-nixos-system-box-mini-1$/);
    const script = await readFile(join(out, 'bin/switch-to-configuration'), 'utf8');
    assert.ok(script.startsWith('#!/bin/sh\n'));
    assert.ok(script.includes(`out=${out}\n`) && !script.includes('@out@'));
  });

  it('appends hostFiles and knownHostsFiles to /etc/hosts and ssh_known_hosts, after their own entries', async () => {
    const out = await system(
      [
        '{ m = {',
        '  networking.extraHosts = "10.0.0.1 own";',
        '  networking.hostFiles = [ (builtins.toFile "more-hosts" "10.0.0.2 listed\\n") ];',
        '  programs.ssh.knownHosts.a = { hostNames = [ "a" ]; publicKey = "ssh-ed25519 AAAAown"; };',
        '  programs.ssh.knownHostsFiles = [ (builtins.toFile "more-keys" "b ssh-ed25519 AAAAlisted\\n") ];',
        '}; }',
      ].join('\n'),
    );
    const hosts = (await readFile(join(out, 'etc/hosts'), 'utf8')).split('\n');
    assert.ok(
      hosts.indexOf('10.0.0.1 own') >= 0 && hosts.indexOf('10.0.0.1 own') < hosts.indexOf('10.0.0.2 listed'),
    );
    assert.equal(
      await readFile(join(out, 'etc/ssh/ssh_known_hosts'), 'utf8'),
      'a ssh-ed25519 AAAAown\nb ssh-ed25519 AAAAlisted\n',
    );
  });

  it('merges definitions by type and priority, and keeps secrets out of config.json', async () => {
    const out = await system(`{
      m = { lib, ... }: {
        imports = [ { networking.extraHosts = "10.0.0.1 a"; networking.hostName = lib.mkDefault "low"; } ];
        networking.extraHosts = "10.0.0.2 b";
        networking.hostName = lib.mkForce "high";
        networking.firewall.allowedTCPPorts = lib.mkMerge [ [ 80 ] (lib.mkIf false [ 81 ]) (lib.mkIf true [ 443 ]) ];
        services.nginx.enable = true;
        deployment.keys.k.text = "s3cret";
      };
    }`);
    const config = JSON.parse(await readFile(join(out, 'config.json'), 'utf8')) as {
      networking: { hostName: string; extraHosts: string; firewall: { allowedTCPPorts: number[] } };
      services: { nginx: { enable: boolean } };
      deployment?: unknown;
    };
    assert.equal(config.networking.hostName, 'high');
    assert.deepEqual(config.networking.extraHosts.split('\n').sort(), ['10.0.0.1 a', '10.0.0.2 b']);
    assert.deepEqual(config.networking.firewall.allowedTCPPorts.sort(), [443, 80]);
    assert.deepEqual(config.services.nginx, { enable: true });
    assert.equal(config.deployment, undefined);
    const everything = (await runProcess('grep', ['-r', 's3cret', out])).stdout;
    assert.equal(everything, '', 'no key text anywhere in the system');
  });

  it('switch runs the activation scripts, points current-system at the system and records it', async () => {
    const out = await system(`{
      m = {
        system.activationScripts.b = { text = "echo b >> ${root}/order"; deps = [ "a" ]; };
        system.activationScripts.a = "mkdir -p ${root}; echo a >> ${root}/order";
      };
    }`);
    const result = await switchTo(out, 'switch');
    assert.equal(result.exitCode, 0, result.stderr);
    assert.equal(await readlink(join(root, 'run/current-system')), out);
    assert.equal(await readFile(join(root, 'order'), 'utf8'), 'a\nb\n');
    const [line] = await logLines();
    assert.match(line ?? '', new RegExp(`^[0-9]+ switch ${out}$`));
  });

  it('a failing activation script fails the switch and leaves the current system as it was', async () => {
    // GIVEN a host running a good system
    const good = await system(`{ m = { environment.etc.v.text = "1"; }; }`);
    assert.equal((await switchTo(good, 'switch')).exitCode, 0);
    // WHEN a system whose activation fails is switched to
    const bad = await system(`{ m = { system.activationScripts.broken = "echo about to fail; false"; }; }`);
    const result = await switchTo(bad, 'switch');
    // THEN the switch fails, names the script, and the good system stays current
    assert.notEqual(result.exitCode, 0);
    assert.match(result.stderr, /Activation script snippet broken failed/);
    assert.equal(await readlink(join(root, 'run/current-system')), good);
    assert.deepEqual(
      (await logLines()).map((l) => l.split(' ').slice(1).join(' ')),
      [`switch ${good}`, `switch-failed ${bad}`],
    );
  });

  it('boot only records, and dry-activate changes nothing and says what would change', async () => {
    const out = await system(
      `{ m = { environment.etc.motd.text = "hello"; system.activationScripts.x = "true"; }; }`,
    );
    assert.equal((await switchTo(out, 'boot')).exitCode, 0);
    await assert.rejects(lstat(join(root, 'run/current-system')));
    const dry = await switchTo(out, 'dry-activate');
    assert.equal(dry.exitCode, 0, dry.stderr);
    assert.match(dry.stdout, /would switch the current system from nothing to/);
    assert.match(dry.stdout, /would run activation script x/);
    assert.match(dry.stdout, /would update \/etc\/motd/);
    await assert.rejects(lstat(join(root, 'run/current-system')));
    assert.deepEqual(
      (await logLines()).map((l) => l.split(' ')[1]),
      ['boot'],
    );
  });

  it('refuses an unknown action', async () => {
    const out = await system(`{ m = { }; }`);
    const result = await switchTo(out, 'reboot');
    assert.notEqual(result.exitCode, 0);
    assert.match(result.stderr, /usage/);
  });
});
