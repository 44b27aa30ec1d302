// Binding ec2 machines to the hosts a test made on this machine, and refusing every other machine, so that no
// test ever contacts an address a fake cloud hands out. A JSON file:
//   { "<machine>": { "host": "127.x.y.z", "port": 22, "user": "root", "hostPublicKey": "ssh-ed25519 ..." } }
import { readFile } from 'node:fs/promises';
import { isIPv4 } from 'node:net';
import { Reason } from '../../src/api/conditions.js';
import { ReconixError } from '../../src/core/errors.js';
import type { AddressOverride, AddressOverrides } from '../../src/providers/aws/index.js';

export type AddressMap = Record<string, AddressOverride>;

export function parseAddressMap(text: string, source: string): AddressMap {
  const bad = (why: string) => new Error(`test address map ${source}: ${why}`);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw bad(`not JSON: ${(err as Error).message}`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw bad('must be a JSON object');
  const out: AddressMap = {};
  for (const [machine, v] of Object.entries(doc)) {
    const e = v as Record<string, unknown>;
    const host = e?.host;
    // Loopback only: the map exists for hosts a test created on this machine.
    if (typeof host !== 'string' || !isIPv4(host) || !host.startsWith('127.')) {
      throw bad(`${machine}: host must be a loopback IPv4 address (127.x.y.z)`);
    }
    if (typeof e.hostPublicKey !== 'string' || !e.hostPublicKey.startsWith('ssh-')) {
      throw bad(`${machine}: hostPublicKey must be the test host's key ("ssh-ed25519 AAAA...")`);
    }
    out[machine] = {
      endpoint: {
        host,
        port: typeof e.port === 'number' ? e.port : 22,
        user: typeof e.user === 'string' ? e.user : 'root',
      },
      hostPublicKey: e.hostPublicKey,
    };
  }
  return out;
}

export async function loadAddressMap(file: string): Promise<AddressMap> {
  return parseAddressMap(await readFile(file, 'utf8'), file);
}

/** The mapped test host of each machine; a machine the map lacks is refused (HostUnreachable), never reached. */
export function testHostsOnly(map: AddressMap, source: string): AddressOverrides {
  return (machine) => {
    const host = map[machine];
    if (host) return host;
    throw new ReconixError(
      Reason.HostUnreachable,
      `${machine} is not bound to a test host in ${source}: a test never contacts an address the fake cloud hands out`,
    );
  };
}
