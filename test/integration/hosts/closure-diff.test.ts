// The diff stage against a real host with its own store, for NixOS-shaped systems: the running closure and etc
// tree come from the host even when this machine's store no longer has them, and dry-activate's units are read.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { activate, copyClosure } from '../../../src/apply/hosts.js';
import type { HostSession } from '../../../src/core/ports.js';
import { NixLocalStore } from '../../../src/nixstore/store.js';
import { diffSystems } from '../../../src/observe/diff.js';
import { runContext, type ReconcileDeps } from '../../../src/observe/run.js';
import { SshHostConnector } from '../../../src/ssh/connector.js';
import { run } from '../../../src/util/exec.js';
import { silentLogger } from '../../../src/util/log.js';
import { createTestHost, makeClientKey, type ClientKey, type TestHost } from '../../support/hosts.js';

// A NixOS-shaped toplevel: etc entries linking to store paths (as NixOS's etc derivation makes them), a package
// in its closure, a `systemd` link, and a switch-to-configuration whose dry-activate talks as NixOS's does.
const SYSTEM_NIX = `
{ tag, version, motd, extra ? "" }:
let
  sh = name: script: derivation { inherit name; system = builtins.currentSystem; builder = "/bin/sh"; args = [ "-c" script ]; };
  tool = sh "demo-tool-\${version}" "/bin/mkdir -p $out && echo \${version} > $out/version";
  motdFile = sh "etc-motd" "echo \${motd} > $out";
  extraFile = sh "etc-extra.conf" "echo extra > $out";
in
sh "nixos-system-host-\${tag}" ''
  set -e
  /bin/mkdir -p $out/bin $out/etc/ssh $out/systemd
  /bin/ln -s \${motdFile} $out/etc/motd
  echo "127.0.0.1 localhost" > $out/etc/hosts
  \${if extra == "" then "" else "/bin/ln -s \${extraFile} $out/etc/extra.conf"}
  echo \${tool} > $out/sw-paths
  printf '%s\\n' '#!/bin/sh' \\
    'if [ "$1" = dry-activate ]; then' \\
    '  echo "would stop the following units: old.service"' \\
    '  echo "would restart the following units: nginx.service, sshd.service"' \\
    '  echo "would start the following units: new.timer"' \\
    'fi' \\
    'if [ "$1" = switch ]; then /bin/ln -sfn '$out' /run/current-system; fi' > $out/bin/switch-to-configuration
  /bin/chmod +x $out/bin/switch-to-configuration
''
`;

describe('closure diffs of NixOS-shaped systems on a real host', function () {
  this.timeout(120_000);
  const store = new NixLocalStore();
  let dir: string;
  let key: ClientKey;
  let host: TestHost;
  let session: HostSession;

  /** Instantiate and build a system; its GC root stays under dir until removed. */
  const system = async (args: Record<string, string>): Promise<{ drvPath: string; outPath: string }> => {
    const argv = Object.entries(args).flatMap(([k, v]) => ['--argstr', k, v]);
    const drvPath = (await run('nix-instantiate', [join(dir, 'system.nix'), ...argv])).stdout.trim();
    const link = join(dir, `result-${args.tag}`);
    await run('nix-store', ['--realise', drvPath, '--add-root', link, '--indirect']);
    const outPath = (await run('nix-store', ['--query', '--outputs', drvPath])).stdout.trim();
    return { drvPath, outPath };
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'reconix-diff-nixos-'));
    await writeFile(join(dir, 'system.nix'), SYSTEM_NIX);
    key = await makeClientKey();
    host = await createTestHost({ clientPublicKey: key.publicKey });
    session = await new SshHostConnector().connect(
      { host: host.address, port: host.port, user: 'root' },
      { privateKey: key.privateKey },
      { pinned: host.hostKey },
    );
  });
  after(async () => {
    session?.close();
    await host?.destroy();
    await key?.cleanup();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("reads the running system from the host's store, and the units dry-activate would change", async () => {
    // GIVEN the host runs system a, which this machine's store then loses
    const tag = `a${process.pid}`;
    const a = await system({ tag, version: '1.0', motd: 'one' });
    await copyClosure(session, store, a.outPath);
    await activate(session, a.outPath, 'switch');
    assert.equal(await host.currentSystem(), a.outPath);
    await rm(join(dir, `result-${tag}`));
    await run('nix-store', ['--delete', a.outPath]);
    assert.equal(await store.isValid(a.outPath), false);

    // WHEN the new system b (a newer demo-tool, another motd, one more etc file) is diffed
    const b = await system({ tag: `b${process.pid}`, version: '1.1', motd: 'two', extra: '1' });
    const deps = { store, gcRootDir: join(dir, 'roots'), log: silentLogger } as unknown as ReconcileDeps;
    const ctx = runContext({ name: 'd', op: 'plan' } as never, deps);
    const observation = await session.observe();
    const result = await diffSystems(ctx, { host: b }, new Map([['host', session]]), {
      host: { ok: true, observation },
    });

    // THEN the diff has the package, the etc files and the units, and b is on the host for dry-activate
    assert.deepEqual(result.failures, []);
    const d = result.diffs.host!;
    assert.equal(d.from, a.outPath);
    const tool = d.packages.find((p) => p.name === 'demo-tool');
    assert.deepEqual([tool?.before, tool?.after], [['1.0'], ['1.1']]);
    assert.deepEqual(d.etc, { added: ['extra.conf'], removed: [], changed: ['motd'] });
    assert.deepEqual(d.units, {
      stop: ['old.service'],
      restart: ['nginx.service', 'sshd.service'],
      start: ['new.timer'],
      reload: [],
    });
    assert.deepEqual(await session.missingPaths([b.outPath]), []);
    assert.equal(await host.currentSystem(), a.outPath, 'dry-activate switches nothing');
  });
});
