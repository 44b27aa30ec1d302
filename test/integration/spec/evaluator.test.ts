import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Reason } from '../../../src/api/conditions.js';
import { ReconixError } from '../../../src/core/errors.js';
import type { InfraFacts } from '../../../src/core/model.js';
import { NixEvaluator } from '../../../src/evaluate/evaluator.js';
import { NixLocalStore } from '../../../src/nixstore/store.js';
import { runProcess } from '../../../src/util/exec.js';
import { isStorePath } from '../../../src/util/shell.js';
import { exampleSource, scratch, type Scratch } from './helpers.js';

const FACTS: InfraFacts = {
  machines: {
    proxy: { privateIPv4: '10.1.0.10', hostPublicKey: 'ssh-ed25519 AAAAproxykey' },
    backend1: { privateIPv4: '10.1.0.11' },
    backend2: { privateIPv4: '10.1.0.12', publicIPv4: '203.0.113.12' },
  },
  resources: {},
};
const NO_FACTS: InfraFacts = { machines: {}, resources: {} };
/** deployment.ec2 of a machine that sets none of it (nix/ec2-options.nix). */
const EC2_DEFAULTS = {
  region: '',
  zone: null,
  instanceType: 'm1.small',
  ami: '',
  keyPair: null,
  privateKey: null,
  securityGroups: null,
  securityGroupIds: [],
  subnetId: null,
  associatePublicIpAddress: false,
  usePrivateIpAddress: false,
  elasticIPv4: null,
  ebsInitialRootDiskSize: 0,
  blockDeviceMapping: {},
  tags: {},
};

function evaluationFailed(pattern: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof ReconixError, String(err));
    assert.equal(err.reason, Reason.EvaluationFailed);
    assert.equal(err.reaction, 'stall');
    assert.match(err.message, pattern);
    return true;
  };
}

describe('NixEvaluator with the mini builder (real Nix)', function () {
  this.timeout(60_000);
  let tmp: Scratch;
  let evaluator: NixEvaluator;
  const store = new NixLocalStore();

  beforeEach(async () => {
    tmp = await scratch('eval');
    evaluator = new NixEvaluator({ scratchDir: join(tmp.dir, 'eval') });
  });
  afterEach(async () => {
    await tmp.remove();
  });

  /** Build the systems and return their output paths (GC roots in the scratch dir). */
  async function build(systems: Record<string, { drvPath: string; outPath: string }>) {
    await store.realise(
      Object.values(systems).map((s) => s.drvPath),
      join(tmp.dir, 'roots'),
    );
    return systems;
  }

  describe('phase 1: the physical view', () => {
    it('lists the machines of the apache example with where they run', async () => {
      const view = await evaluator.physical(exampleSource('apache', 'physical-none.nix'));
      assert.equal(view.description, 'Apache reverse proxy with two backends');
      assert.deepEqual(Object.keys(view.machines).sort(), ['backend1', 'backend2', 'proxy']);
      assert.deepEqual(view.machines.backend1, {
        name: 'backend1',
        targetEnv: 'none',
        targetHost: '192.0.2.11',
        targetPort: 22,
        targetUser: 'root',
        options: { ec2: EC2_DEFAULTS, local: {} },
        keys: [],
        tags: [],
        healthChecks: [],
      });
      assert.deepEqual(view.resources, {});
    });

    it('serialises resource references as { _ref }, lists key names only and never copies key files', async () => {
      // GIVEN a network with a resource referenced from a machine, a secret key and an SSH key file
      const net = await tmp.file(
        'network.nix',
        `{
          resources.ec2KeyPairs.kp = { region = "eu-west-1"; };
          resources.ec2SecurityGroups.sg = { resources, ... }: { rules = [ ]; keyPair = resources.ec2KeyPairs.kp; };
          web = { resources, lib, ... }: {
            deployment.targetEnv = "ec2";
            deployment.ec2 = { region = "eu-west-1"; keyPair = resources.ec2KeyPairs.kp; securityGroups = [ resources.ec2SecurityGroups.sg ]; };
            deployment.ec2.instanceType = lib.mkDefault "t3.micro";
            deployment.keys.db-password = { text = "s3cret-text"; user = "web"; };
            deployment.sshKeyFile = ./id_test;
            deployment.hostPublicKey = "ssh-ed25519 AAAAweb";
          };
        }`,
      );
      // WHEN the physical view is evaluated
      const view = await evaluator.physical(tmp.source([net]));
      // THEN references are bare, keys are names, the key file is a plain path
      const web = view.machines.web;
      assert.ok(web);
      assert.deepEqual(web.options.ec2, {
        ...EC2_DEFAULTS,
        region: 'eu-west-1',
        instanceType: 't3.micro',
        keyPair: { _ref: 'ec2KeyPairs.kp' },
        securityGroups: [{ _ref: 'ec2SecurityGroups.sg' }],
      });
      assert.deepEqual(web.keys, ['db-password']);
      assert.equal(web.sshKeyFile, join(tmp.dir, 'id_test'));
      assert.equal(web.hostPublicKey, 'ssh-ed25519 AAAAweb');
      assert.deepEqual(view.resources, {
        ec2KeyPairs: { kp: { region: 'eu-west-1' } },
        ec2SecurityGroups: { sg: { rules: [], keyPair: { _ref: 'ec2KeyPairs.kp' } } },
      });
      assert.ok(!JSON.stringify(view).includes('s3cret'), 'no key text in the physical view');
    });

    it('does not build or even evaluate any system', async () => {
      const net = await tmp.file(
        'network.nix',
        `{ web = { environment.etc.x.text = throw "system evaluated"; }; }`,
      );
      const view = await evaluator.physical(tmp.source([net]));
      assert.deepEqual(Object.keys(view.machines), ['web']);
      await assert.rejects(evaluator.systems(tmp.source([net]), NO_FACTS, ['web']), /system evaluated/);
    });
  });

  describe('phase 2: systems', () => {
    it('returns a derivation and an output path for each machine asked for', async () => {
      const systems = await evaluator.systems(exampleSource('apache', 'physical-local.nix'), FACTS, [
        'proxy',
        'backend1',
      ]);
      assert.deepEqual(Object.keys(systems).sort(), ['backend1', 'proxy']);
      for (const [name, s] of Object.entries(systems)) {
        assert.ok(
          isStorePath(s.drvPath) && s.drvPath.endsWith(`-nixos-system-${name}-mini-1.drv`),
          s.drvPath,
        );
        assert.ok(isStorePath(s.outPath) && s.outPath.endsWith(`-nixos-system-${name}-mini-1`), s.outPath);
        assert.ok(existsSync(s.drvPath), 'the derivation is in the store, ready to build');
      }
    });

    it("injects every machine's address: the proxy's config names its backends and /etc/hosts lists all", async () => {
      const { proxy } = await build(
        await evaluator.systems(exampleSource('apache', 'physical-local.nix'), FACTS, ['proxy']),
      );
      assert.ok(proxy);
      const conf = await readFile(join(proxy.outPath, 'etc/httpd/proxy.conf'), 'utf8');
      assert.match(conf, /BalancerMember http:\/\/10\.1\.0\.11:80/);
      assert.match(conf, /BalancerMember http:\/\/10\.1\.0\.12:80/);
      const hosts = await readFile(join(proxy.outPath, 'etc/hosts'), 'utf8');
      for (const line of ['10.1.0.10 proxy', '10.1.0.11 backend1', '10.1.0.12 backend2', '127.0.0.2 proxy']) {
        assert.ok(hosts.split('\n').includes(line), `${line} in\n${hosts}`);
      }
      assert.equal(
        await readFile(join(proxy.outPath, 'etc/ssh/ssh_known_hosts'), 'utf8'),
        'proxy,10.1.0.10 ssh-ed25519 AAAAproxykey\n',
      );
      const config = JSON.parse(await readFile(join(proxy.outPath, 'config.json'), 'utf8')) as {
        networking: { privateIPv4: string; hostName: string };
      };
      assert.equal(config.networking.privateIPv4, '10.1.0.10');
      assert.equal(config.networking.hostName, 'proxy');
      assert.equal((await readFile(join(proxy.outPath, 'etc/hostname'), 'utf8')).trim(), 'proxy');
    });

    it("shares one hosts file and one known-hosts file among all machines, beside each machine's own", async () => {
      const systems = await evaluator.systems(exampleSource('apache', 'physical-local.nix'), FACTS, [
        'proxy',
        'backend1',
      ]);
      const { proxy, backend1 } = await build(systems);
      assert.ok(proxy && backend1);
      type Config = {
        networking: { hostFiles: string[] };
        programs: { ssh: { knownHosts: object; knownHostsFiles: string[] } };
      };
      const read = async (p: string) => JSON.parse(await readFile(join(p, 'config.json'), 'utf8')) as Config;
      const [a, b] = [await read(proxy.outPath), await read(backend1.outPath)];
      // One definition per machine whatever the size of the network: N entries in each of N machines is N^2.
      assert.equal(a.networking.hostFiles.length, 1);
      assert.deepEqual(b.networking.hostFiles, a.networking.hostFiles);
      assert.equal(a.programs.ssh.knownHostsFiles.length, 1);
      assert.deepEqual(b.programs.ssh.knownHostsFiles, a.programs.ssh.knownHostsFiles);
      assert.deepEqual(a.programs.ssh.knownHosts, {});
      const hosts = await readFile(join(backend1.outPath, 'etc/hosts'), 'utf8');
      assert.ok(hosts.split('\n').includes('10.1.0.10 proxy'), hosts);
      assert.ok(hosts.split('\n').includes('127.0.0.2 backend1'), hosts);
    });

    it('falls back to machine names before any address is known', async () => {
      const { proxy } = await build(
        await evaluator.systems(exampleSource('apache', 'physical-local.nix'), NO_FACTS, ['proxy']),
      );
      assert.match(
        await readFile(join(proxy!.outPath, 'etc/httpd/proxy.conf'), 'utf8'),
        /http:\/\/backend1:80/,
      );
    });

    it('keeps the derivation of a machine whose inputs did not change when another machine changes', async () => {
      // GIVEN the apache network, and the same network with a change to backend2 only
      const src = exampleSource('apache', 'physical-local.nix');
      const change = await tmp.file('change.nix', `{ backend2.environment.etc."motd".text = "changed"; }`);
      const changed = { ...src, files: [...src.files, change] };
      // WHEN both are evaluated with the same facts
      const before = await evaluator.systems(src, FACTS, ['proxy', 'backend1', 'backend2']);
      const after = await evaluator.systems(changed, FACTS, ['proxy', 'backend1', 'backend2']);
      // THEN only backend2 has a new system
      assert.equal(after.proxy?.drvPath, before.proxy?.drvPath);
      assert.equal(after.backend1?.drvPath, before.backend1?.drvPath);
      assert.notEqual(after.backend2?.drvPath, before.backend2?.drvPath);
    });

    it("evaluates only the machines asked for: another machine's broken system does not matter", async () => {
      const net = await tmp.file(
        'network.nix',
        `{ ok = { environment.etc.a.text = "fine"; }; broken = { environment.etc.x.text = throw "broken system"; }; }`,
      );
      const systems = await evaluator.systems(tmp.source([net]), NO_FACTS, ['ok']);
      assert.deepEqual(Object.keys(systems), ['ok']);
    });

    it('refuses a machine that the network does not define', async () => {
      const systems = evaluator.systems(exampleSource('trivial', 'physical-local.nix'), NO_FACTS, ['nope']);
      await assert.rejects(systems, evaluationFailed(/The machine `nope' is not defined in the network/));
    });
  });

  describe('the builder seam', () => {
    const withBuilder = (builder: 'auto' | 'nixos' | 'mini') => ({
      ...exampleSource('trivial', 'physical-local.nix'),
      builder,
    });

    it('auto falls back to the mini builder where nixpkgs is not on the Nix path', async function () {
      const probe = await runProcess('nix-instantiate', ['--eval', '-E', '<nixpkgs>']);
      if (probe.exitCode === 0) this.skip();
      const systems = await evaluator.systems(withBuilder('auto'), NO_FACTS, ['machine']);
      assert.match(systems.machine?.outPath ?? '', /-nixos-system-machine-mini-1$/);
    });

    it('nixos without nixpkgs fails with a message naming nixpkgs', async function () {
      const probe = await runProcess('nix-instantiate', ['--eval', '-E', '<nixpkgs>']);
      if (probe.exitCode === 0) this.skip();
      await assert.rejects(evaluator.physical(withBuilder('nixos')), evaluationFailed(/nixpkgs/));
    });
  });

  describe('keys', () => {
    it("gives the deployer each machine's keys with NixOps' defaults", async () => {
      const net = await tmp.file(
        'network.nix',
        `{ web = { deployment.keys.token = { text = "t0ken"; }; deployment.keys.cert = { keyFile = ./cert.pem; user = "nginx"; permissions = "0640"; }; }; }`,
      );
      const keys = await evaluator.keys(tmp.source([net]), ['web']);
      assert.deepEqual(keys, {
        web: {
          token: {
            text: 't0ken',
            destDir: '/run/keys',
            user: 'root',
            group: 'root',
            permissions: '0600',
            uploadAt: 'pre-activation',
          },
          cert: {
            keyFile: join(tmp.dir, 'cert.pem'),
            destDir: '/run/keys',
            user: 'nginx',
            group: 'root',
            permissions: '0640',
            uploadAt: 'pre-activation',
          },
        },
      });
    });

    it('gives a keyCommand as its argv and keeps a keyFile path out of the store', async () => {
      const net = await tmp.file(
        'network.nix',
        `{ web = { deployment.keys.cmd = { keyCommand = [ "pass" "show" "db" ]; uploadAt = "post-activation"; }; deployment.keys.f.keyFile = "/etc/secret"; }; }`,
      );
      const keys = await evaluator.keys(tmp.source([net]), ['web']);
      assert.deepEqual(keys.web?.cmd?.keyCommand, ['pass', 'show', 'db']);
      assert.equal(keys.web?.cmd?.uploadAt, 'post-activation');
      assert.equal(keys.web?.f?.keyFile, '/etc/secret');
    });

    for (const [what, key, message] of [
      [
        'two sources',
        '{ text = "a"; keyFile = "/b"; }',
        /`web'.*deployment\.keys\."k" needs exactly one of text, keyFile and keyCommand, not text and keyFile/,
      ],
      ['no source', '{ user = "x"; }', /`web'.*deployment\.keys\."k" needs exactly one .* not none/],
      [
        'an unknown attribute',
        '{ text = "a"; bogus = 1; }',
        /`web'.*deployment\.keys\."k" is invalid: an attribute that is not a key option/,
      ],
    ] as const) {
      it(`refuses a key with ${what}, naming the machine and the key but not the text`, async () => {
        const net = await tmp.file('network.nix', `{ web = { deployment.keys.k = ${key}; }; }`);
        await assert.rejects(evaluator.physical(tmp.source([net])), (err: Error) => {
          assert.match(err.message, message);
          assert.doesNotMatch(err.message, /"a"/);
          return true;
        });
      });
    }
  });

  describe('errors in network files', () => {
    it('reports a syntax error as EvaluationFailed with the file and line', async () => {
      const net = await tmp.file(
        'network.nix',
        '{\n  web = { config, ... }: {\n    networking.extraHosts =\n  };\n}\n',
      );
      await assert.rejects(
        evaluator.physical(tmp.source([net])),
        evaluationFailed(new RegExp(`syntax error[\\s\\S]*at ${net}:4:3`)),
      );
    });

    it('reports an undeclared option with its path and the file that defines it', async () => {
      const net = await tmp.file(
        'network.nix',
        '{ web = { services.openssh.enable = true; networking.fooBar = 1; }; }',
      );
      await assert.rejects(
        evaluator.physical(tmp.source([net])),
        evaluationFailed(
          new RegExp(
            `The option \`networking\\.fooBar' does not exist\\. Definition values:\\n\\s*- In \`${net}'`,
          ),
        ),
      );
    });

    it('lists every file that defines an undeclared option, imported ones included, in merge order', async () => {
      // GIVEN the option defined in a logical file, in a physical file and in a module the physical file imports
      const logical = await tmp.file(
        'logical.nix',
        '{ web = { lib, ... }: { networking.fooBar = lib.mkDefault 1; }; }',
      );
      const sub = await tmp.file('sub.nix', '{ networking.fooBar = 3; }');
      const physical = await tmp.file(
        'physical.nix',
        '{ web = { imports = [ ./sub.nix ]; networking.fooBar = 2; }; }',
      );
      // THEN the message is NixOS', with each file once and no value (a mistyped key could hold a secret)
      await assert.rejects(evaluator.physical(tmp.source([logical, physical])), (err: unknown) => {
        assert.ok(err instanceof ReconixError);
        const lines = err.message.split('\n').map((l) => l.trim());
        const at = lines.findIndex((l) =>
          l.endsWith("The option `networking.fooBar' does not exist. Definition values:"),
        );
        assert.ok(at >= 0, err.message);
        assert.deepEqual(lines.slice(at + 1), [
          `- In \`${logical}'`,
          `- In \`${physical}'`,
          `- In \`${sub}'`,
        ]);
        return true;
      });
    });

    it('reports a value of the wrong type with the option and the file', async () => {
      const net = await tmp.file('network.nix', '{ web = { deployment.targetPort = "22"; }; }');
      await assert.rejects(
        evaluator.physical(tmp.source([net])),
        evaluationFailed(
          new RegExp(
            `A definition for option \`deployment\\.targetPort' is not of type \`integer between 0 and 65535[\\s\\S]*In \`${net}': "22"`,
          ),
        ),
      );
    });
  });

  describe('untrusted text', () => {
    const nasty = `$(touch MARKER) \`touch MARKER\`; echo "double" 'single' \\ back\nnewline`;

    it('passes args verbatim as strings and executes nothing', async () => {
      const marker = join(tmp.dir, 'executed');
      const arg = nasty.replaceAll('MARKER', marker);
      const net = await tmp.file(
        'network.nix',
        '{ arg, ... }: { m = { deployment.targetUser = arg; environment.etc."arg.txt".text = arg; }; }',
      );
      const src = tmp.source([net], { arg });
      const view = await evaluator.physical(src);
      assert.equal(view.machines.m?.targetUser, arg);
      const { m } = await build(await evaluator.systems(src, NO_FACTS, ['m']));
      assert.equal(await readFile(join(m!.outPath, 'etc/arg.txt'), 'utf8'), arg);
      assert.ok(!existsSync(marker), 'nothing was executed');
    });

    it('builds a machine whose name is full of shell metacharacters', async () => {
      const marker = join(tmp.dir, 'executed');
      const name = `web;$(touch ${marker}) "q" 'x'`;
      const net = await tmp.file(
        'network.nix',
        `{ ${JSON.stringify(name)} = { environment.etc.motd.text = "hi"; }; }`,
      );
      const view = await evaluator.physical(tmp.source([net]));
      assert.equal(view.machines[name]?.targetHost, name);
      const systems = await build(
        await evaluator.systems(
          tmp.source([net]),
          { machines: { [name]: { privateIPv4: '10.9.9.9' } }, resources: {} },
          [name],
        ),
      );
      const out = systems[name]?.outPath;
      assert.ok(out && isStorePath(out), String(out));
      const hostName = (await readFile(join(out, 'etc/hostname'), 'utf8')).trim();
      assert.match(hostName, /^[A-Za-z0-9-]+$/);
      assert.ok(!existsSync(marker), 'nothing was executed');
    });
  });
});
