// Tiny NixOS-shaped systems for host tests: a store path with bin/switch-to-configuration that records its
// activation in /nix/var/reconix/activations.log and, for switch and test, points /run/current-system at itself.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../../src/util/exec.js';

const SYSTEM_NIX = `
{ tag, fail ? "0", payloadMiB ? "0", parts ? "1", say ? "" }:
let
  part = i: derivation {
    name = "reconix-test-payload-\${tag}-\${toString i}";
    system = builtins.currentSystem;
    builder = "/bin/sh";
    inherit tag payloadMiB;
    args = [ "-c" ''
      set -e
      /bin/mkdir -p $out
      n=0
      while [ $n -lt "$payloadMiB" ]; do
        /usr/bin/head -c 1048576 /dev/urandom > $out/blob-$n
        n=$((n + 1))
      done
    '' ];
  };
  payload = builtins.genList part (builtins.fromJSON parts);
in
derivation {
  name = "reconix-test-system-\${tag}";
  system = builtins.currentSystem;
  builder = "/bin/sh";
  inherit tag fail payload say;
  switch = ''
    #!/bin/sh
    set -e
    /bin/mkdir -p /nix/var/reconix
    echo "$1 @out@" >> /nix/var/reconix/activations.log
    if [ -e @out@/bin/say ]; then /bin/sh @out@/bin/say; fi
    if [ "@fail@" = 1 ] && [ "$1" != dry-activate ]; then echo "activation of @tag@ failed" >&2; exit 3; fi
    if [ "$1" = switch ] || [ "$1" = test ]; then /bin/ln -sfn @out@ /run/current-system; fi
  '';
  args = [ "-c" ''
    set -e
    /bin/mkdir -p $out/bin
    echo "$tag $payload" > $out/tag
    printf '%s' "$switch" | /bin/sed -e "s|@out@|$out|g" -e "s|@fail@|$fail|g" -e "s|@tag@|$tag|g" > $out/bin/switch-to-configuration
    /bin/chmod +x $out/bin/switch-to-configuration
    if [ -n "$say" ]; then printf '%s\\n' "$say" > $out/bin/say; fi
  '' ];
}
`;

export interface SystemOptions {
  /** Makes the system distinct; put something unique per test run in it. */
  tag: string;
  /** The activation fails (exit 3) for every mode but dry-activate. */
  fail?: boolean;
  /** Random data in the closure: `parts` dependencies of `payloadMiB` MiB each. */
  payloadMiB?: number;
  parts?: number;
  /** A shell snippet the activation runs first (what it prints is its output). */
  say?: string;
}

/** Builds test systems with this machine's Nix; GC roots live in a temporary directory until cleanup(). */
export class TestSystems {
  private constructor(private readonly dir: string) {}

  static async create(): Promise<TestSystems> {
    const dir = await mkdtemp(join(tmpdir(), 'reconix-test-systems-'));
    await writeFile(join(dir, 'system.nix'), SYSTEM_NIX);
    return new TestSystems(dir);
  }

  async build(o: SystemOptions): Promise<string> {
    const args = [join(this.dir, 'system.nix'), '--out-link', join(this.dir, `result-${o.tag}`)];
    for (const [k, v] of Object.entries({
      tag: o.tag,
      fail: o.fail ? '1' : '0',
      payloadMiB: String(o.payloadMiB ?? 0),
      parts: String(o.parts ?? 1),
      say: o.say ?? '',
    })) {
      args.push('--argstr', k, v);
    }
    const r = await run('nix-build', args);
    return r.stdout.trim();
  }

  async cleanup(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}
