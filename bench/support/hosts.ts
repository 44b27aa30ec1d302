// Fresh local hosts for benchmarks, made and destroyed by the `local` target provider itself, on addresses of
// their own (127.79.x.y) so that they never meet the hosts of tests or of the quickstart.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { MachinePhysical, SshEndpoint, TargetRecord } from '../../src/core/model.js';
import { clientKey } from '../../src/cli/deps.js';
import {
  hostLayout,
  LocalTargetProvider,
  parseHostRecord,
  readHostFile,
} from '../../src/providers/local/index.js';
import type { ClientKey } from '../../src/observe/run.js';

export const BENCH_ADDRESS_PREFIX = '127.79';

export interface BenchHost {
  name: string;
  endpoint: SshEndpoint;
  hostKey: string;
  /** The host's directory: its /nix is `<dir>/nix`. */
  dir: string;
  record: TargetRecord;
}

export function benchProvider(baseDir: string, prefix = BENCH_ADDRESS_PREFIX): LocalTargetProvider {
  return new LocalTargetProvider({ baseDir, addressPrefix: prefix });
}

function machine(name: string): MachinePhysical {
  return { name, targetEnv: 'local', targetPort: 22, targetUser: 'root', options: {}, keys: [] };
}

export class BenchHosts {
  private readonly live = new Map<string, BenchHost>();

  private constructor(
    readonly provider: LocalTargetProvider,
    readonly key: ClientKey,
    readonly keyFile: string,
    private readonly baseDir: string,
    private readonly deployment: string,
  ) {}

  /** Hosts under `<dir>/hosts`, reached with a client key made in `dir`, on addresses `<prefix>.x.y`. */
  static async create(dir: string, deployment: string, prefix?: string): Promise<BenchHosts> {
    const baseDir = join(dir, 'hosts');
    const key = await clientKey(dir);
    return new BenchHosts(
      benchProvider(baseDir, prefix),
      key,
      join(dir, 'keys', 'client_ed25519'),
      baseDir,
      deployment,
    );
  }

  private ctx() {
    return {
      deployment: this.deployment,
      clientPublicKey: this.key.publicKey,
      facts: {},
      save: async () => {},
    };
  }

  async host(name: string): Promise<BenchHost> {
    const ctx = this.ctx();
    let record: TargetRecord | undefined;
    try {
      record = await this.provider.create(machine(name), ctx);
    } catch (err) {
      // The provider records the host on disk before starting it: a failed start still leaves one to remove.
      await this.sweep();
      throw err;
    }
    const obs = this.provider.describe(machine(name), record);
    const parsed = parseHostRecord(record);
    if (!obs.endpoint || !obs.facts.hostPublicKey || !parsed) throw new Error(`host ${name} has no endpoint`);
    const host = { name, endpoint: obs.endpoint, hostKey: obs.facts.hostPublicKey, dir: parsed.dir, record };
    this.live.set(name, host);
    return host;
  }

  async destroy(host: BenchHost): Promise<void> {
    await this.provider.destroy(host.name, host.record, this.ctx());
    this.live.delete(host.name);
  }

  async destroyAll(): Promise<void> {
    await Promise.all([...this.live.values()].map((h) => this.destroy(h)));
    await this.sweep();
  }

  /** Destroy every host directory left under the base directory (a host whose creation failed half-way). */
  private async sweep(): Promise<void> {
    await destroyHostsUnder(this.provider, this.baseDir);
  }
}

/** Destroy, through the provider, every host whose directory lies under `baseDir`. */
export async function destroyHostsUnder(provider: LocalTargetProvider, baseDir: string): Promise<void> {
  const entries = await readdir(baseDir).catch(() => [] as string[]);
  await Promise.all(
    entries
      .filter((e) => e.startsWith('h-'))
      .map(async (e) => {
        if (await readHostFile(hostLayout(join(baseDir, e)))) await provider.removeHostDir(e);
      }),
  );
}
