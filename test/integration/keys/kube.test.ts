// Keys in Kubernetes mode on a real API server: a key from a Secret reaches the host with its mode, comes back
// after a reboot, and shows in no log, status, event, ConfigMap, metric or store; a keyFile is refused by name.
import assert from 'node:assert/strict';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { hostDirName } from '../../../src/providers/local/layout.js';
import { runProcess } from '../../../src/util/exec.js';
import { canary, filesContaining, storePathsSince, timeMarker } from '../../support/canary.js';
import { makeClientKey, type ClientKey } from '../../support/hosts.js';
import {
  sshKeySecret,
  startController,
  startKubeEnv,
  until,
  type ControllerUnderTest,
  type KubeEnv,
} from '../kube/harness.js';

interface Obj {
  metadata: { generation: number };
  status?: {
    observedGeneration?: number;
    conditions?: { type: string; status: string; reason: string; message: string }[];
  };
}

const SECRET = canary('kube');

const manifest = (name: string, web: string, keys: unknown[] = []) =>
  stringify({
    apiVersion: 'reconix.dev/v1alpha1',
    kind: 'NixDeployment',
    metadata: { name, namespace: 'default' },
    spec: {
      network: { inline: { 'network.nix': `{ web = { deployment.targetEnv = "local"; ${web} }; }` } },
      builder: 'mini',
      interval: '1h',
      retryInterval: '1s',
      // Kubernetes mode uses no key of the controller's own: the deployment's comes from its namespace.
      sshKeySecretRef: { name: 'tenant-ssh', key: 'id_ed25519' },
      keys,
    },
  });

describe('deployment keys in Kubernetes mode (real kube-apiserver, local hosts)', function () {
  this.timeout(600_000);
  let env: KubeEnv;
  let ctl: ControllerUnderTest;
  let marker: string;
  let tenantKey: ClientKey | undefined;
  const hostDir = () => join(ctl.hostsDir, hostDirName('default.app', 'web'));
  const pid = async () =>
    (JSON.parse(await readFile(join(hostDir(), 'host.json'), 'utf8')) as { pid?: number }).pid;
  const keyOnHost = async () => {
    const r = await runProcess('sh', [
      '-c',
      `stat -c %a "$1" && cat "$1"`,
      'sh',
      `/proc/${await pid()}/root/run/keys/token`,
    ]);
    return r.exitCode === 0 ? r.stdout : undefined;
  };
  const cond = (o: Obj | undefined, type: string) => o?.status?.conditions?.find((c) => c.type === type);

  before(async function () {
    if (process.getuid?.() !== 0) this.skip();
    marker = await timeMarker();
    env = await startKubeEnv();
    await env.kubectl(['create', 'secret', 'generic', 'app-keys', `--from-literal=token=${SECRET}`]);
    tenantKey = await makeClientKey();
    await sshKeySecret(env, 'default', 'tenant-ssh', tenantKey.privateKey);
    ctl = await startController(env);
  });
  after(async function () {
    if (env && ctl) {
      await env.kubectl(['delete', 'nixd', '--all', '--wait=true', '--timeout=120s']).catch(() => undefined);
    }
    await ctl?.cleanup();
    await env?.cleanup();
    await tenantKey?.cleanup();
    if (marker) await rm(marker, { force: true });
  });

  it('delivers a key from a Secret with its mode, and again after the host rebooted', async () => {
    const keys = [
      { machine: 'web', name: 'token', secretRef: { name: 'app-keys', key: 'token' }, permissions: '0400' },
    ];
    await env.kubectl(['apply', '-f', '-'], manifest('app', '', keys));
    assert.equal(await until('the key on the host', keyOnHost, 240_000), `400\n${SECRET}`);
    await until(
      'app Ready',
      async () => cond(await env.getJson<Obj>('nixd', 'app'), 'Ready')?.status === 'True',
    );
    // A reboot: /run is lost; a reconcile asked for now starts the host and writes the key again.
    process.kill((await pid())!, 'SIGKILL');
    await env.kubectl(['annotate', '--overwrite', 'nixd', 'app', `reconix.dev/requestedAt=${Date.now()}`]);
    assert.equal(await until('the key back after the reboot', keyOnHost, 240_000), `400\n${SECRET}`);
  });

  it('refuses a keyFile with a condition naming the key', async () => {
    await env.kubectl(['apply', '-f', '-'], manifest('files', 'deployment.keys.f.keyFile = "/etc/shadow";'));
    const ready = await until('files not Ready', async () => {
      const c = cond(await env.getJson<Obj>('nixd', 'files'), 'Ready');
      return c?.status === 'False' && c.reason === 'KeyUnavailable' ? c : undefined;
    });
    assert.match(ready.message, /key "f": keyFile is not allowed in Kubernetes mode/);
  });

  it('shows the key in no log, status, event, ConfigMap, metric or Nix store', async () => {
    const everywhere = [
      ctl.log.lines.join('\n'),
      await env.kubectl(['get', 'nixd', '-A', '-o', 'json']),
      await env.kubectl(['get', 'events', '-A', '-o', 'json']),
      await env.kubectl(['get', 'configmaps', '-A', '-o', 'json']),
      await (await fetch(`http://127.0.0.1:${ctl.running.server.port}/metrics`)).text(),
    ];
    for (const text of everywhere) assert.ok(!text.includes(SECRET));
    assert.deepEqual(await filesContaining(SECRET, [join(hostDir(), 'nix/store'), ctl.stateDir]), []);
    assert.deepEqual(await filesContaining(SECRET, await storePathsSince(marker)), []);
  });
});
