// Removing what a benchmark deployed: Reconix's own destroy (the provider kills each host's sshd by PID and
// removes its directory), then a sweep of any host directory a crashed run left behind.
import { join } from 'node:path';
import { buildDeps } from '../../src/cli/deps.js';
import { destroy } from '../../src/apply/operations.js';
import type { NetworkSource } from '../../src/core/ports.js';
import { silentLogger } from '../../src/util/log.js';
import { BENCH_ADDRESS_PREFIX, benchProvider, destroyHostsUnder } from './hosts.js';

export async function destroyDeployments(
  stateDir: string,
  names: string[],
  prefix = BENCH_ADDRESS_PREFIX,
): Promise<void> {
  const provider = benchProvider(join(stateDir, 'hosts'), prefix);
  try {
    const deps = await buildDeps({ stateDir, log: silentLogger, extraProviders: [provider] });
    for (const name of names) {
      const source: NetworkSource = { deployment: name, files: [], args: {}, builder: 'mini' };
      const results = await destroy(
        { name, source, op: 'deploy', driftPolicy: 'Correct', mode: 'switch', maxParallel: 20 },
        deps,
      );
      for (const r of results)
        if (!r.ok) console.error(`destroying ${name}/${r.machine}: ${r.error?.message}`);
    }
  } finally {
    await destroyHostsUnder(provider, join(stateDir, 'hosts'));
  }
}
