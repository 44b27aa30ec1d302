// NixDeployments are code from someone else: against a real API server and an in-process controller with its real
// dependencies, networks that try to read the controller's files, another deployment's files, import absolute
// paths, fetch from the network, or read the controller's environment all fail with the refusal in their
// condition, and what they tried to reach appears in no status, event, ConfigMap or log line. A build that reads a
// host file finds nothing in the sandbox; an honest deployment still turns Ready.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canary } from '../../support/canary.js';
import { cond, until, type Condition } from './harness.js';
import { conditionTrue, keyedKubeSuite, nixDeployment, sshKeyRef } from './fixtures.js';
import type { DeploymentObject } from './fixtures.js';

// Kubernetes mode reaches hosts only with a key from the object's namespace.
const manifest = (name: string, network: string) => nixDeployment(name, network, sshKeyRef('tenant-ssh'));
const machine = (etc: string) => `{ web = { deployment.targetEnv = "local"; ${etc} }; }\n`;
const readsFile = (path: string) => `throw (builtins.readFile ${JSON.stringify(path)})\n`;
const ENV_CANARY = 'RECONIX_CONTAINED_CANARY';

describe('untrusted Nix in NixDeployments is contained (real kube-apiserver, local hosts)', function () {
  this.timeout(600_000);
  let work: string;
  let http: Server;
  let requests = 0;
  let port = 0;
  const secret = canary('token');
  const outsideCanary = canary('outside');
  const envCanary = canary('env');
  const goodCanary = canary('neighbour');
  const saved: Record<string, string | undefined> = {};
  const kube = keyedKubeSuite('tenant-ssh', {
    deleteAll: true,
    async prepare() {
      work = await mkdtemp(join(tmpdir(), 'reconix-kube-contained-'));
      await writeFile(join(work, 'token'), secret, { mode: 0o600 });
      await writeFile(join(work, 'outside.nix'), `"${outsideCanary}"\n`);
      http = createServer((_req, res) => {
        requests += 1;
        res.end('x');
      });
      await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
      port = (http.address() as { port: number }).port;
      // The controller's environment holds a canary, and a Nix path that would lead to the secret.
      for (const name of [ENV_CANARY, 'NIX_PATH']) saved[name] = process.env[name];
      process.env[ENV_CANARY] = envCanary;
      process.env.NIX_PATH = `secrets=${work}`;
    },
  });

  const get = (name: string) => kube.env.getJson<DeploymentObject>('nixdeployment', name);
  /** The object stalled on a failure of its current generation. */
  const refused = (name: string) => conditionTrue(kube.env, name, 'Stalled');
  async function assertRefused(name: string, network: string, why: RegExp): Promise<Condition> {
    await kube.env.kubectl(['apply', '-f', '-'], manifest(name, network));
    const o = await refused(name);
    const stalled = cond(o, 'Stalled')!;
    const ready = cond(o, 'Ready');
    assert.deepEqual(
      { ready: ready?.status, readyReason: ready?.reason, reason: stalled.reason },
      { ready: 'False', readyReason: 'EvaluationFailed', reason: 'EvaluationFailed' },
    );
    assert.match(stalled.message, why);
    return stalled;
  }

  after(async function () {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    if (http) await new Promise((resolve) => http.close(resolve));
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('deploys an honest inline network, evaluated restricted and built in the sandbox', async () => {
    await kube.env.kubectl(
      ['apply', '-f', '-'],
      manifest('good', machine(`environment.etc."greeting".text = "${goodCanary}";`)),
    );
    const o = await until(
      'good Ready',
      async () => {
        const g = await get('good');
        return cond(g, 'Ready')?.status === 'True' ? g : undefined;
      },
      240_000,
    );
    assert.equal(cond(o, 'Stalled'), undefined);
  });

  it("refuses to read the controller's files: a secret outside the network, /etc/shadow, its SSH key", async () => {
    const forbidden = /access to (absolute|canonical) path '[^']+' is forbidden in restricted mode/;
    await assertRefused('token', readsFile(join(work, 'token')), forbidden);
    await assertRefused('shadow', readsFile('/etc/shadow'), forbidden);
    await assertRefused('ctlkey', readsFile(join(kube.ctl.stateDir, 'keys/client_ed25519')), forbidden);
  });

  it("refuses to read another deployment's files, inline or recorded", async () => {
    const scratch = join(kube.ctl.stateDir, 'scratch');
    const theirs = readdirSync(scratch)
      .filter((d) => d.startsWith('inline-'))
      .map((d) => join(scratch, d, 'network.nix'))
      .find((f) => readFileSync(f, 'utf8').includes(goodCanary));
    assert.ok(theirs, "the other deployment's inline files are on disk");
    await assertRefused('neighbour', readsFile(theirs), /forbidden in restricted mode/);
    await assertRefused(
      'neighbourdir',
      `builtins.attrNames (builtins.readDir ${JSON.stringify(scratch)})`,
      /forbidden in restricted mode/,
    );
  });

  it('refuses to import absolute paths', async () => {
    await assertRefused(
      'importetc',
      'import /etc/passwd\n',
      /access to absolute path '\/etc\/passwd' is forbidden/,
    );
    await assertRefused(
      'importfile',
      `import ${join(work, 'outside.nix')}\n`,
      /forbidden in restricted mode/,
    );
    await assertRefused(
      'searchpath',
      'builtins.readFile <secrets/token>\n',
      /was not found in the Nix search path/,
    );
  });

  it('fetches nothing: the server on loopback gets no request', async () => {
    const url = `http://127.0.0.1:${port}/x`;
    await assertRefused(
      'fetchurl',
      `builtins.fetchurl ${JSON.stringify(url)}\n`,
      /access to URI '[^']+' is forbidden in restricted mode/,
    );
    await assertRefused(
      'tarball',
      `import (builtins.fetchTarball ${JSON.stringify(url)})\n`,
      /forbidden in restricted mode/,
    );
    assert.equal(requests, 0);
  });

  it("sees none of the controller's environment", async () => {
    const c = await assertRefused(
      'getenv',
      `throw ("env=[" + builtins.getEnv "${ENV_CANARY}" + "]")\n`,
      /env=\[\]/,
    );
    assert.ok(!c.message.includes(envCanary));
  });

  it('builds without the host: a derivation reading a host file fails in the sandbox', async () => {
    // The derivation's output would carry the secret to a machine the tenant controls.
    const drv = `derivation { name = "steal"; system = builtins.currentSystem; builder = "/bin/sh"; args = [ "-c" "/bin/cat ${join(work, 'token')} > $out" ]; }`;
    await kube.env.kubectl(
      ['apply', '-f', '-'],
      manifest('buildread', machine(`environment.etc."stolen".source = "\${${drv}}";`)),
    );
    const o = await refused('buildread');
    const s = cond(o, 'Stalled')!;
    assert.equal(s.reason, 'BuildFailed', s.message);
    assert.match(s.message, /No such file or directory/);
  });

  it('leaves what the networks reached for out of every status, event, ConfigMap and log line', async () => {
    const everything = [
      await kube.env.kubectl(['get', 'nixd', '-A', '-o', 'json']),
      await kube.env.kubectl(['get', 'events', '-A', '-o', 'json']),
      await kube.env.kubectl(['get', 'configmaps', '-A', '-o', 'json']),
      ...kube.ctl.log.lines,
    ].join('\n');
    const controllerKey = readFileSync(join(kube.ctl.stateDir, 'keys/client_ed25519'), 'utf8');
    const shadowLine = readFileSync('/etc/shadow', 'utf8').split('\n')[0] ?? '';
    for (const [what, value] of Object.entries({
      secret,
      outsideCanary,
      envCanary,
      shadowLine,
      controllerKey: controllerKey.split('\n')[1] ?? controllerKey,
    })) {
      assert.ok(value.length > 8, `${what} is a real needle`);
      assert.ok(!everything.includes(value), `${what} appears in status, events, ConfigMaps or logs`);
    }
  });
});
