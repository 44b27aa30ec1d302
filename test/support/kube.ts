// A real Kubernetes control plane (etcd + kube-apiserver) on loopback for tests.
// There is no controller-manager, scheduler or kubelet: objects are stored and
// validated, but nothing reconciles them. So there is no default ServiceAccount,
// Deployments get no pods, deleted namespaces stay Terminating, and the
// aggregated ClusterRoles (admin, edit, view) have no rules: bind explicit Roles.

import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, rmSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface KubePeer {
  kubeconfigPath: string;
  /** https://127.0.0.1:<port> */
  server: string;
  /** http://127.0.0.1:<port>: etcd's client URL (its JSON gateway answers under /v3/). */
  etcdUrl: string;
  /** Bearer token of a user in system:masters. */
  token: string;
  /** PEM file of the CA that signed the apiserver's serving certificate. */
  caCertPath: string;
  binDir: string;
  stop(): Promise<void>;
  restartApiServer(): Promise<void>;
  kubectl(args: string[], input?: string): Promise<KubectlResult>;
}

export interface KubectlResult {
  stdout: string;
  stderr: string;
  code: number;
}

export interface StartKubeOptions {
  /** Parent of the peer's temporary directory; defaults to the OS temp dir. */
  workDir?: string;
  /** How long etcd and the apiserver each get to become ready. */
  readyTimeoutMs?: number;
  /** Appended to the apiserver's flags, e.g. `--watch-cache=false` so that watches go straight to etcd. */
  extraApiServerArgs?: string[];
}

const LOOPBACK = '127.0.0.1';

export async function startKube(opts: StartKubeOptions = {}): Promise<KubePeer> {
  const binDir = await kubeBinDir();
  const readyTimeoutMs = opts.readyTimeoutMs ?? 60_000;
  const dir = await mkdtemp(join(opts.workDir ?? tmpdir(), 'reconix-kube-'));
  liveDirs.add(dir);
  const children: Child[] = [];
  try {
    const [etcdClientPort, etcdPeerPort, apiPort] = await freePorts(3);
    const etcdUrl = `http://${LOOPBACK}:${etcdClientPort}`;
    const etcdPeerUrl = `http://${LOOPBACK}:${etcdPeerPort}`;
    const etcd = startChild(
      join(binDir, 'etcd'),
      [
        '--name=reconix-test',
        `--data-dir=${join(dir, 'etcd')}`,
        `--listen-client-urls=${etcdUrl}`,
        `--advertise-client-urls=${etcdUrl}`,
        `--listen-peer-urls=${etcdPeerUrl}`,
        `--initial-advertise-peer-urls=${etcdPeerUrl}`,
        `--initial-cluster=reconix-test=${etcdPeerUrl}`,
        '--log-level=warn',
      ],
      join(dir, 'etcd.log'),
    );
    children.push(etcd);
    await waitReady(etcd, readyTimeoutMs, async () => {
      const { status, body } = await httpGet(`${etcdUrl}/health`);
      return status === 200 && body.includes('"health":"true"');
    });

    const token = randomBytes(24).toString('hex');
    const pki = await makePki(dir);
    await writeFile(join(dir, 'tokens.csv'), `${token},admin,admin,system:masters\n`, { mode: 0o600 });
    const server = `https://${LOOPBACK}:${apiPort}`;
    const apiArgs = [
      `--bind-address=${LOOPBACK}`,
      `--advertise-address=${LOOPBACK}`,
      `--secure-port=${apiPort}`,
      `--etcd-servers=${etcdUrl}`,
      `--tls-cert-file=${pki.certPath}`,
      `--tls-private-key-file=${pki.keyPath}`,
      `--client-ca-file=${pki.caPath}`,
      `--token-auth-file=${join(dir, 'tokens.csv')}`,
      '--authorization-mode=RBAC',
      '--service-account-issuer=https://kubernetes.default.svc',
      `--service-account-key-file=${pki.saKeyPath}`,
      `--service-account-signing-key-file=${pki.saKeyPath}`,
      '--service-cluster-ip-range=10.0.0.0/24',
      // The lease reconciler would publish 127.0.0.1 as the endpoint of the
      // kubernetes Service, which endpoint validation rejects in a loop.
      '--endpoint-reconciler-type=none',
      '--profiling=false',
      ...(opts.extraApiServerArgs ?? []),
    ];
    const ca = await readFile(pki.caPath);
    const startApiServer = async (): Promise<Child> => {
      const child = startChild(join(binDir, 'kube-apiserver'), apiArgs, join(dir, 'kube-apiserver.log'));
      children.push(child);
      await waitReady(child, readyTimeoutMs, async () => {
        const get = (path: string) => httpGet(`${server}${path}`, { ca, token });
        // /readyz can pass before the system namespaces exist.
        return (
          (await get('/readyz')).status === 200 && (await get('/api/v1/namespaces/default')).status === 200
        );
      });
      return child;
    };
    let apiServer = await startApiServer();

    const kubeconfigPath = join(dir, 'kubeconfig');
    await writeFile(kubeconfigPath, kubeconfig(server, pki.caPath, token), { mode: 0o600 });
    const kubectlCache = join(dir, 'kubectl-cache');

    let stopped = false;
    return {
      kubeconfigPath,
      server,
      etcdUrl,
      token,
      caCertPath: pki.caPath,
      binDir,
      async stop() {
        if (stopped) return;
        stopped = true;
        await stopAll(children);
        await removeDir(dir);
      },
      async restartApiServer() {
        await stopChild(apiServer);
        apiServer = await startApiServer();
      },
      kubectl(args, input) {
        return run(
          join(binDir, 'kubectl'),
          [`--kubeconfig=${kubeconfigPath}`, `--cache-dir=${kubectlCache}`, ...args],
          input,
        );
      },
    };
  } catch (err) {
    await stopAll(children);
    await removeDir(dir);
    throw err;
  }
}

let binDirPromise: Promise<string> | undefined;

/** Directory holding etcd, kube-apiserver and kubectl, built on first use. */
export function kubeBinDir(): Promise<string> {
  if (!binDirPromise) {
    binDirPromise = buildPeers();
    binDirPromise.catch(() => (binDirPromise = undefined));
  }
  return binDirPromise;
}

async function buildPeers(): Promise<string> {
  const script = findBuildScript();
  // Build progress goes to our stderr: a cold build takes minutes.
  const child = spawn('bash', [script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  const code = await exited(child);
  const last = out.trim().split('\n').pop() ?? '';
  if (code !== 0 || !last) throw new Error(`${script} failed with exit code ${code}`);
  return last;
}

function findBuildScript(): string {
  // Walk up so this works from the source tree and from a compiled copy.
  for (let d = dirname(fileURLToPath(import.meta.url)); ; d = dirname(d)) {
    const candidate = join(d, 'test', 'peers', 'kube', 'build.sh');
    if (existsSync(candidate)) return candidate;
    if (dirname(d) === d) throw new Error('test/peers/kube/build.sh not found above ' + import.meta.url);
  }
}

interface Pki {
  caPath: string;
  certPath: string;
  keyPath: string;
  saKeyPath: string;
}

async function makePki(dir: string): Promise<Pki> {
  const p = (name: string) => join(dir, name);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await openssl([
    'req',
    '-x509',
    ...ec,
    '-keyout',
    p('ca.key'),
    '-out',
    p('ca.crt'),
    '-days',
    '2',
    '-subj',
    '/CN=reconix-test-ca',
  ]);
  await openssl([
    'req',
    ...ec,
    '-keyout',
    p('apiserver.key'),
    '-out',
    p('apiserver.csr'),
    '-subj',
    '/CN=kube-apiserver',
  ]);
  await writeFile(
    p('apiserver.ext'),
    [
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth',
      `subjectAltName=IP:${LOOPBACK},DNS:localhost`,
      '',
    ].join('\n'),
  );
  await openssl([
    'x509',
    '-req',
    '-in',
    p('apiserver.csr'),
    '-CA',
    p('ca.crt'),
    '-CAkey',
    p('ca.key'),
    '-CAcreateserial',
    '-days',
    '2',
    '-extfile',
    p('apiserver.ext'),
    '-out',
    p('apiserver.crt'),
  ]);
  await openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', p('sa.key')]);
  return {
    caPath: p('ca.crt'),
    certPath: p('apiserver.crt'),
    keyPath: p('apiserver.key'),
    saKeyPath: p('sa.key'),
  };
}

async function openssl(args: string[]): Promise<void> {
  const r = await run('openssl', args);
  if (r.code !== 0) throw new Error(`openssl ${args[0]} failed: ${r.stderr}`);
}

function kubeconfig(server: string, caPath: string, token: string): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: reconix-test',
    '  cluster:',
    `    server: ${server}`,
    `    certificate-authority: ${JSON.stringify(caPath)}`,
    'users:',
    '- name: admin',
    '  user:',
    `    token: ${token}`,
    'contexts:',
    '- name: reconix-test',
    '  context:',
    '    cluster: reconix-test',
    '    user: admin',
    'current-context: reconix-test',
    '',
  ].join('\n');
}

interface Child {
  proc: ChildProcess;
  exit: Promise<number | null>;
  logPath: string;
}

// Killed and removed on exit of this process, so a test run that never calls
// stop() leaves no servers or data behind.
const live = new Set<ChildProcess>();
const liveDirs = new Set<string>();
process.once('exit', () => {
  for (const proc of live) proc.kill('SIGKILL');
  for (const dir of liveDirs) rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
});

async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  liveDirs.delete(dir);
}

function startChild(cmd: string, args: string[], logPath: string): Child {
  const log = createWriteStream(logPath, { flags: 'a' });
  const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  proc.stdout?.pipe(log, { end: false });
  proc.stderr?.pipe(log, { end: false });
  live.add(proc);
  const exit = exited(proc).finally(() => {
    live.delete(proc);
    log.end();
  });
  return { proc, exit, logPath };
}

async function stopChild(child: Child, graceMs = 10_000): Promise<void> {
  if (child.proc.exitCode !== null || child.proc.signalCode !== null) return;
  child.proc.kill('SIGTERM');
  const timer = setTimeout(() => child.proc.kill('SIGKILL'), graceMs);
  await child.exit;
  clearTimeout(timer);
}

async function stopAll(children: Child[]): Promise<void> {
  // The apiserver goes before etcd so it does not spin on a lost backend.
  for (const child of [...children].reverse()) await stopChild(child);
}

async function waitReady(child: Child, timeoutMs: number, probe: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let died = false;
  void child.exit.then(() => (died = true));
  for (;;) {
    if (died) throw new Error(`${child.proc.spawnfile} exited before ready:\n${await logTail(child)}`);
    if (await probe().catch(() => false)) return;
    if (Date.now() > deadline) {
      await stopChild(child);
      throw new Error(`${child.proc.spawnfile} not ready after ${timeoutMs} ms:\n${await logTail(child)}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function logTail(child: Child): Promise<string> {
  const text = await readFile(child.logPath, 'utf8').catch(() => '');
  return text.split('\n').slice(-30).join('\n');
}

function httpGet(
  url: string,
  auth?: { ca: Buffer; token: string },
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const options = auth ? { ca: auth.ca, headers: { Authorization: `Bearer ${auth.token}` } } : {};
    const req = (url.startsWith('https:') ? https : http).get(url, { ...options, timeout: 5_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on('error', reject);
  });
}

async function freePorts(n: number): Promise<number[]> {
  // All listeners stay open until every port is known, so the ports differ.
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<Server>((resolve, reject) => {
          const s = createServer();
          s.once('error', reject);
          s.listen(0, LOOPBACK, () => resolve(s));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

function exited(proc: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) return resolve(proc.exitCode);
    proc.once('close', (code) => resolve(code));
    proc.once('error', () => resolve(null));
  });
}

function run(cmd: string, args: string[], input?: string): Promise<KubectlResult> {
  return new Promise((resolve, reject) => {
    const proc = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    proc.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    proc.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    proc.once('error', reject);
    proc.once('close', (code) => resolve({ stdout, stderr, code: code ?? -1 }));
    // A command that exits without reading its input must not crash the test.
    proc.stdin.on('error', () => {});
    proc.stdin.end(input ?? '');
  });
}
