// /metrics, /healthz and /readyz on one small HTTP server (and the fleet page, when it is on).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface MetricsServer {
  readonly address: string;
  readonly port: number;
  close(): Promise<void>;
}

/** A probe's answer: a plain yes/no, or one that says why not. */
export type ProbeResult = boolean | { ok: boolean; detail: string };

export interface HealthChecks {
  live: () => ProbeResult;
  ready: () => ProbeResult;
}

/** More paths on the same server: answers a request (true) or leaves it to the probes (false). */
export type ExtraRoutes = (url: string, req: IncomingMessage, res: ServerResponse) => boolean;

export function parseListen(addr: string): { host: string; port: number } {
  const i = addr.lastIndexOf(':');
  const host = i > 0 ? addr.slice(0, i).replace(/^\[|\]$/g, '') : '127.0.0.1';
  const port = Number(i >= 0 ? addr.slice(i + 1) : addr);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`invalid listen address ${addr}`);
  return { host, port };
}

export async function serveMetrics(
  listen: string,
  registry: Registry,
  health: HealthChecks,
  routes?: ExtraRoutes,
): Promise<MetricsServer> {
  const { host, port } = parseListen(listen);
  const server: Server = createServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0] ?? '/';
    if (routes?.(url, req, res)) return;
    if (url === '/metrics') {
      registry
        .metrics()
        .then((body) => {
          res.writeHead(200, { 'content-type': registry.contentType });
          res.end(body);
        })
        .catch((err: Error) => {
          res.writeHead(500);
          res.end(err.message);
        });
      return;
    }
    const check = url === '/healthz' ? health.live : url === '/readyz' ? health.ready : undefined;
    if (!check) {
      res.writeHead(404);
      res.end('not found\n');
      return;
    }
    const result = check();
    const { ok, detail } =
      typeof result === 'boolean' ? { ok: result, detail: result ? 'ok' : 'not ready' } : result;
    res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' });
    res.end(`${detail}\n`);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  const info = server.address() as AddressInfo;
  return {
    address: info.address,
    port: info.port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
