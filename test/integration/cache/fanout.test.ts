// Copy mode "cache" end to end: a bucket of the deployment in moto, three local hosts with their own stores, real
// Nix. The controller uploads each path once; the hosts substitute over HTTP, trusting only the pinned key; an
// unsigned, wrongly signed or tampered path is refused by the host's Nix and nothing is activated.
import assert from 'node:assert/strict';
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { fingerprint, narinfoKey, narinfoText, narKey } from '../../../src/cache/narinfo.js';
import { generateSigningKey, parseSigningKey, signFingerprint } from '../../../src/cache/signing.js';
import { buildDeps } from '../../../src/cli/deps.js';
import { destroy } from '../../../src/apply/operations.js';
import type { StorePathInfo } from '../../../src/core/ports.js';
import type { ProgressEvent } from '../../../src/core/progress.js';
import { NixLocalStore } from '../../../src/nixstore/store.js';
import type { ReconcileDeps } from '../../../src/observe/run.js';
import { signingKeyName } from '../../../src/providers/aws/binary-cache.js';
import { FileSecretStore } from '../../../src/providers/aws/secrets.js';
import { reconcileDeployment } from '../../../src/reconcile/reconciler.js';
import type { ReconcileReport } from '../../../src/report/report.js';
import { requestFor, type RequestOverrides } from '../../../src/source/deployments.js';
import { loadDeployments } from '../../../src/source/load.js';
import { silentLogger } from '../../../src/util/log.js';
import { runProcess } from '../../../src/util/exec.js';
import { startHttpRecorder, type HttpRecorder } from '../../support/http-recorder.js';
import { MOTO_ENV, motoInstalled, startMoto, type Moto } from '../../support/moto.js';
import { REPO_ROOT } from '../../support/workspace.js';

const BUCKET = 'reconix-example-cache';
const MACHINES = ['web1', 'web2', 'web3'];

describe('copy mode "cache" with three local hosts and a bucket in moto', function () {
  this.timeout(600_000);
  let moto: Moto;
  let proxy: HttpRecorder;
  let dir: string;
  let deps: ReconcileDeps;
  let s3: S3Client;
  const store = new NixLocalStore();

  const events: ProgressEvent[] = [];
  const run = async (op: 'deploy' | 'plan', o: RequestOverrides = {}): Promise<ReconcileReport> => {
    const loaded = await loadDeployments(join(dir, 'net', 'local.yaml'), join(dir, 'scratch'));
    const d = loaded.deployments[0]!;
    const req = requestFor(d.name, d.spec, d.source, op, o);
    return reconcileDeployment({ ...req, progress: (e) => events.push(e) }, deps);
  };
  /** Every file under the state dir but the secrets' own directory, as text. */
  const stateFiles = async (): Promise<string> => {
    const root = join(dir, 'state');
    const names = (await readdir(root, { recursive: true, withFileTypes: true }))
      .filter((e) => e.isFile() && !join(e.parentPath, e.name).startsWith(join(root, 'secrets')))
      .map((e) => join(e.parentPath, e.name));
    return (await Promise.all(names.map((n) => readFile(n, 'latin1')))).join('\n');
  };
  const hostDir = async (machine: string) => {
    const st = await deps.state.read('binary-cache-local');
    return st.machines[machine]!.target!.dir as string;
  };
  const activations = async (machine: string) =>
    (await readFile(join(await hostDir(machine), 'nix/var/reconix/activations.log'), 'utf8').catch(() => ''))
      .split('\n')
      .filter(Boolean);
  const errorsOf = (r: ReconcileReport) =>
    `${r.message}: ${Object.values(r.machines)
      .map((m) => m.error?.message ?? '')
      .join('; ')}`;
  // Object uploads only: the bucket's own calls (create, policy, tags) PUT to the bucket's path.
  const puts = () => proxy.requests.filter((r) => r.method === 'PUT' && r.path.length > BUCKET.length + 2);
  /** Whether the path is valid in the host's own store (a refused download may leave files, never a valid path). */
  const hostHas = async (machine: string, path: string) =>
    (
      await runProcess('nix-store', [
        '--store',
        `local?root=${await hostDir(machine)}`,
        '--check-validity',
        path,
      ])
    ).exitCode === 0;

  before(async function () {
    if (!motoInstalled() || process.getuid?.() !== 0) this.skip();
    Object.assign(process.env, MOTO_ENV);
    moto = await startMoto();
    proxy = await startHttpRecorder(moto.endpoint);
    s3 = moto.clients().s3('us-east-1');
    dir = await mkdtemp(join(tmpdir(), 'reconix-cache-'));
    await cp(join(REPO_ROOT, 'examples', 'binary-cache'), join(dir, 'net'), { recursive: true });
    deps = await buildDeps({
      stateDir: join(dir, 'state'),
      log: silentLogger,
      aws: { endpoint: proxy.endpoint },
    });
  });

  after(async () => {
    if (deps) {
      const loaded = await loadDeployments(join(dir, 'net', 'local.yaml'), join(dir, 'scratch'));
      const d = loaded.deployments[0]!;
      await destroy(requestFor(d.name, d.spec, d.source, 'deploy'), deps, {
        deleteNonEmptyBuckets: true,
      }).catch(() => undefined);
    }
    await proxy?.close();
    await moto?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('uploads each path once, and every host substitutes and activates its system; a second deploy uploads nothing', async () => {
    const report = await run('deploy');
    assert.equal(report.ok, true, errorsOf(report));
    const byKey = new Map<string, number>();
    for (const r of puts()) byKey.set(r.path, (byKey.get(r.path) ?? 0) + 1);
    assert.ok(byKey.size > 3, 'paths were uploaded');
    assert.deepEqual(
      [...byKey].filter(([, n]) => n !== 1),
      [],
      'no object was uploaded twice',
    );
    let uploadedPaths = 0;
    for (const m of Object.values(report.machines).filter((x) => MACHINES.includes(x.machine))) {
      assert.equal(m.outcome, 'activated', `${m.machine}: ${m.error?.message ?? ''}`);
      assert.equal(m.copied?.mode, 'cache');
      assert.equal(m.copied?.bytes, 0, 'the controller sent no NAR over SSH');
      uploadedPaths += m.copied?.uploaded?.paths ?? 0;
      // The host's own store holds the system, and it runs it.
      assert.ok(await hostHas(m.machine, m.system!), `${m.machine} has its system`);
      assert.equal((await activations(m.machine)).length, 1);
      const pin = await readFile(join(await hostDir(m.machine), 'nix/var/reconix/binary-cache-key'), 'utf8');
      assert.match(pin.trim(), /^reconix-example-cache-1:[A-Za-z0-9+/]{43}=$/);
    }
    const narinfos = [...byKey.keys()].filter((k) => k.endsWith('.narinfo')).length;
    assert.equal(
      uploadedPaths,
      narinfos,
      'each uploaded path was counted by the one machine that uploaded it',
    );
    assert.ok(
      proxy.requests.some((r) => r.method === 'GET' && r.path.endsWith('.nar')),
      'the hosts fetched NARs from the cache',
    );

    const copying = events.filter((e) => e.type === 'machine' && e.stage === 'copying' && e.copied);
    assert.ok(copying.length > 0 && copying.every((e) => e.type === 'machine' && e.copied?.mode === 'cache'));
    // The signing key stays in the secrets directory: not in the state, the eval cache, the events or the bucket.
    const secret = (await new FileSecretStore(join(dir, 'state', 'secrets')).read(
      'binary-cache-local',
      signingKeyName(BUCKET),
    ))!.trim();
    const seed = secret.slice(secret.indexOf(':') + 1);
    assert.equal((await stateFiles()).includes(seed), false);
    assert.equal(JSON.stringify(events).includes(seed), false);
    assert.equal(JSON.stringify(report).includes(seed), false);

    const before = puts().length;
    const again = await run('deploy');
    assert.equal(again.ok, true, errorsOf(again));
    assert.equal(puts().length, before, 'nothing uploaded the second time');
    for (const m of MACHINES) assert.equal((await activations(m)).length, 1);
  });

  describe('a host refuses a path the cache holds badly', () => {
    let system: string;
    let info: StorePathInfo;
    let nar: Buffer;

    before(async () => {
      // A change to web1 only: its new system is built but not yet in the cache.
      const file = join(dir, 'net', 'network.nix');
      const text = await readFile(file, 'utf8');
      await writeFile(
        file,
        text.replace('web1 = { ... }: { };', 'web1 = { ... }: { environment.etc."v".text = "2"; };'),
      );
      const built = await run('deploy', { include: ['web1'], stopAfter: 'build' });
      system = built.machines['web1']!.system!;
      info = (await store.closures([system])).get(system)!.at(-1)!;
      assert.equal(info.path, system);
      const chunks: Buffer[] = [];
      for await (const c of store.nar(system)) chunks.push(Buffer.from(c));
      nar = Buffer.concat(chunks);
    });

    const plant = async (narinfo: string, body = nar) => {
      await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: narKey(info), Body: body }));
      await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: narinfoKey(system), Body: narinfo }));
    };
    const deployKey = async () =>
      parseSigningKey(
        (await new FileSecretStore(join(dir, 'state', 'secrets')).read(
          'binary-cache-local',
          signingKeyName(BUCKET),
        ))!,
      );
    const refused = async (why: RegExp) => {
      const report = await run('deploy', { include: ['web1'] });
      const m = report.machines['web1']!;
      assert.equal(report.ok, false);
      assert.equal(m.error?.reason, 'CopyFailed', m.error?.message);
      assert.match(m.error?.message ?? '', why);
      assert.equal((await activations('web1')).length, 1, 'nothing activated');
      await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: narinfoKey(system) }));
      assert.equal(await hostHas('web1', system), false, "the path is not valid in the host's store");
    };

    it('refuses a narinfo without a signature', async () => {
      await plant(narinfoText(info, []));
      await refused(/is not signed by any of the keys in 'trusted-public-keys'/);
    });

    it('refuses a narinfo signed by another key', async () => {
      const other = generateSigningKey('reconix-example-cache-1');
      await plant(narinfoText(info, [signFingerprint(other, fingerprint(info))]));
      await refused(/is not signed by any of the keys in 'trusted-public-keys'/);
    });

    it('refuses a NAR that does not match its signed hash', async () => {
      const key = await deployKey();
      // One character of a store path inside the archive (a link target or file contents): still a well-formed
      // NAR, but not the one the signed narinfo describes.
      const bad = Buffer.from(nar);
      const at = bad.lastIndexOf('/nix/store/') + '/nix/store/'.length;
      bad[at] = bad[at] === 0x30 ? 0x31 : 0x30;
      await plant(narinfoText(info, [signFingerprint(key, fingerprint(info))]), bad);
      await refused(/hash mismatch/);
    });

    it('refuses a cache whose key is not the one the host pinned, before fetching anything', async () => {
      const secrets = new FileSecretStore(join(dir, 'state', 'secrets'));
      const kept = (await secrets.read('binary-cache-local', signingKeyName(BUCKET)))!;
      await secrets.write(
        'binary-cache-local',
        signingKeyName(BUCKET),
        generateSigningKey('reconix-example-cache-1').secret,
      );
      try {
        await refused(/trusts binary-cache key .* not the cache's key/);
      } finally {
        await secrets.write('binary-cache-local', signingKeyName(BUCKET), kept);
      }
    });

    it('then substitutes and activates once the cache is right again', async () => {
      const report = await run('deploy', { include: ['web1'] });
      assert.equal(report.ok, true, errorsOf(report));
      assert.equal((await activations('web1')).length, 2);
      assert.equal(report.machines['web1']?.current, system);
    });
  });
});
