// The fleet page's routes on the controller's metrics server: the page, its script and style, and /fleet.json.
// The page has no authentication, so it is only served on a loopback address unless the operator says otherwise.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import { parseListen } from '../metrics/server.js';
import { FLEET_CSP, FLEET_CSS, FLEET_HTML, FLEET_JS } from './assets.js';
import type { FleetView } from './view.js';

const COMMON = {
  'content-security-policy': FLEET_CSP,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

const ASSETS: Record<string, { type: string; body: string }> = {
  '/': { type: 'text/html; charset=utf-8', body: FLEET_HTML },
  '/fleet': { type: 'text/html; charset=utf-8', body: FLEET_HTML },
  '/fleet.js': { type: 'text/javascript; charset=utf-8', body: FLEET_JS },
  '/fleet.css': { type: 'text/css; charset=utf-8', body: FLEET_CSS },
};

/** Answers the fleet page's paths (true), or leaves the request to the caller (false). */
export function fleetRoutes(
  view: () => FleetView,
): (url: string, req: IncomingMessage, res: ServerResponse) => boolean {
  return (url, req, res) => {
    const asset = ASSETS[url];
    if (!asset && url !== '/fleet.json') return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { ...COMMON, allow: 'GET, HEAD', 'content-type': 'text/plain' });
      res.end('the fleet page is read-only\n');
      return true;
    }
    const { type, body } = asset ?? { type: 'application/json', body: `${JSON.stringify(view())}\n` };
    res.writeHead(200, { ...COMMON, 'content-type': type });
    res.end(req.method === 'HEAD' ? undefined : body);
    return true;
  };
}

/** Whether a listen address only accepts connections from this machine. */
export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  const v6 = host.toLowerCase();
  return v6 === '::1' || v6.startsWith('::ffff:127.');
}

/** Refuses to serve the page on a non-loopback address unless `allowPublic`, saying why and what to do. */
export function checkFleetListen(listen: string, allowPublic: boolean): void {
  const { host } = parseListen(listen);
  if (allowPublic || isLoopback(host)) return;
  throw new Error(
    `--fleet-page: --listen ${listen} is not a loopback address, and the fleet page has no authentication; ` +
      'listen on 127.0.0.1, or add --fleet-page-public to serve it there anyway (behind your own access control)',
  );
}
