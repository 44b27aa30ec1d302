// A machine's metrics as a test sets them: a small HTTP server on a test host's own loopback address, serving
// demo_errors_ratio{machine="..."} for Prometheus to scrape. Runs in the test process; stop() closes it.
import { createServer, type Server } from 'node:http';

export interface MetricsEndpoint {
  readonly machine: string;
  /** host:port, as a Prometheus scrape target. */
  readonly target: string;
  /** What demo_errors_ratio reads from now on. */
  set(errorsRatio: number): void;
  stop(): Promise<void>;
}

export interface MetricsEndpointOptions {
  /** The host's loopback address, e.g. a TestHost's address or a `local` machine's. */
  address: string;
  machine: string;
  errorsRatio?: number;
}

export async function startMetricsEndpoint(opts: MetricsEndpointOptions): Promise<MetricsEndpoint> {
  let ratio = opts.errorsRatio ?? 0;
  const server: Server = createServer((req, res) => {
    if (req.method !== 'GET' || req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
    res.end(
      [
        '# HELP demo_errors_ratio Share of requests that failed.',
        '# TYPE demo_errors_ratio gauge',
        `demo_errors_ratio{machine=${JSON.stringify(opts.machine)}} ${ratio}`,
        '',
      ].join('\n'),
    );
  });
  // Port 0 on the host's own address: the kernel picks a free one, with no window for another test to take it.
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, opts.address, () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  return {
    machine: opts.machine,
    target: `${opts.address}:${port}`,
    set: (v) => {
      ratio = v;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        if (!server.listening) return resolve();
        server.close(() => resolve());
        // Prometheus keeps its scrape connections open; close() alone would wait for them.
        server.closeAllConnections();
      }),
  };
}
