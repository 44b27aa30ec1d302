// moto_server for AWS tests: started on 127.0.0.1 with a free port, reset between tests, stopped by its PID.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAwsClients, type AwsCallHook, type AwsClients } from '../../src/providers/aws/index.js';

/** Dummy credentials: moto accepts any. Set in the environment of CLI processes too. */
export const MOTO_ENV = {
  AWS_ACCESS_KEY_ID: 'testing',
  AWS_SECRET_ACCESS_KEY: 'testing',
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  // Never ask an instance metadata service for credentials.
  AWS_EC2_METADATA_DISABLED: 'true',
};

export interface Moto {
  readonly endpoint: string;
  readonly pid: number;
  /** Forget every object (POST /moto-api/reset). */
  reset(): Promise<void>;
  /** Clients for the endpoint, with optional hooks (call counters). */
  clients(hooks?: AwsCallHook[], endpoint?: string): AwsClients;
  stop(): Promise<void>;
}

// The SDK warns about a future Node requirement in every test process otherwise.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
process.env.AWS_EC2_METADATA_DISABLED ??= 'true';

export function motoInstalled(): boolean {
  return spawnSync('moto_server', ['--help'], { stdio: 'ignore' }).status === 0;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function post(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'POST' }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

async function waitUntilUp(endpoint: string, child: ChildProcess, deadlineMs: number): Promise<void> {
  const until = Date.now() + deadlineMs;
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`moto_server exited with code ${child.exitCode}`);
    if ((await post(`${endpoint}/moto-api/reset`).catch(() => 0)) === 200) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`moto_server did not answer at ${endpoint} within ${deadlineMs} ms`);
}

export async function startMoto(): Promise<Moto> {
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const child = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (b: Buffer) => {
    stderr = (stderr + b.toString('utf8')).slice(-4000);
  });
  try {
    await waitUntilUp(endpoint, child, 30_000);
  } catch (err) {
    child.kill('SIGKILL');
    throw new Error(`${(err as Error).message}\n${stderr}`, { cause: err });
  }
  const pid = child.pid!;
  return {
    endpoint,
    pid,
    async reset() {
      const status = await post(`${endpoint}/moto-api/reset`);
      if (status !== 200) throw new Error(`moto reset answered ${status}`);
    },
    clients(hooks = [], at = endpoint) {
      return createAwsClients({
        endpoint: at,
        credentials: {
          accessKeyId: MOTO_ENV.AWS_ACCESS_KEY_ID,
          secretAccessKey: MOTO_ENV.AWS_SECRET_ACCESS_KEY,
        },
        hooks,
      });
    },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      process.kill(pid, 'SIGTERM');
      const timer = setTimeout(() => child.exitCode === null && process.kill(pid, 'SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** What a proxy in front of moto does with one request: forward it, or answer it itself. */
export type Intercept = (req: IncomingMessage, body: Buffer) => { status: number; body: string } | undefined;

/** An HTTP proxy on 127.0.0.1 in front of moto: each request is read, shown to `intercept`, then forwarded. */
export async function motoProxy(
  target: string,
  intercept: Intercept,
): Promise<{ endpoint: string; close(): Promise<void> }> {
  const upstream = new URL(target);
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (b: Buffer) => chunks.push(b));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const answer = intercept(req, body);
      if (answer) {
        res.writeHead(answer.status, { 'content-type': 'text/xml' });
        res.end(answer.body);
        return;
      }
      const up = httpRequest(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: req.method,
          path: req.url,
          headers: req.headers,
        },
        (r) => {
          res.writeHead(r.statusCode ?? 502, r.headers);
          r.pipe(res);
        },
      );
      up.on('error', () => res.destroy());
      up.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const awsError = (code: string, message: string) =>
  `<Response><Errors><Error><Code>${code}</Code><Message>${message}</Message></Error></Errors></Response>`;

/**
 * An HTTP proxy in front of moto that answers the first `failures` requests itself with an error (503, or a
 * throttling error), to show that the clients retry with backoff.
 */
export async function flakyProxy(
  target: string,
  failures: number,
  kind: 'unavailable' | 'throttled',
): Promise<{ endpoint: string; failed: () => number; forwarded: () => number; close(): Promise<void> }> {
  let failed = 0;
  let forwarded = 0;
  const proxy = await motoProxy(target, () => {
    if (failed < failures) {
      failed++;
      return kind === 'unavailable'
        ? { status: 503, body: awsError('ServiceUnavailable', 'try again') }
        : { status: 400, body: awsError('RequestLimitExceeded', 'slow down') };
    }
    forwarded++;
    return undefined;
  });
  return { ...proxy, failed: () => failed, forwarded: () => forwarded };
}
