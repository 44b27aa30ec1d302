// Observing N EC2 machines against moto: Reconix's batched observe (one DescribeInstances per region, filtered by
// the deployment's tag) side by side with the baseline of one DescribeInstances per machine, as a provider that
// checks each machine's own instance does. Prints calls and median wall time of each; needs moto_server.
//   node dist/bench/aws-observe.js [--machines 200] [--regions 2] [--iterations 5]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeInstancesCommand } from '@aws-sdk/client-ec2';
import pLimit from 'p-limit';
import type { MachinePhysical, MachineRecord, TargetRecord } from '../src/core/model.js';
import { Ec2TargetProvider, FileSecretStore } from '../src/providers/aws/index.js';
import { parseInstanceRecord } from '../src/providers/aws/instances/record.js';

import { CallCounter } from '../test/support/aws-hooks.js';
import { startMoto } from '../test/support/moto.js';
import { intOption, median, timed } from './support/stats.js';

const REGIONS = ['eu-west-1', 'us-east-1', 'ap-southeast-2', 'sa-east-1'];

async function main(): Promise<void> {
  const n = intOption('machines', 200);
  const regionCount = Math.min(intOption('regions', 2), REGIONS.length);
  const iterations = intOption('iterations', 5);
  const moto = await startMoto();
  const secretsDir = await mkdtemp(join(tmpdir(), 'reconix-bench-aws-'));
  try {
    const counter = new CallCounter();
    const clients = moto.clients([counter]);
    const noWait = { now: () => new Date(), sleep: () => Promise.resolve() };
    const provider = new Ec2TargetProvider({
      clients,
      secrets: new FileSecretStore(secretsDir),
      clock: noWait,
    });
    const machines: MachinePhysical[] = Array.from({ length: n }, (_, i) => ({
      name: `m${i}`,
      targetEnv: 'ec2',
      targetPort: 22,
      targetUser: 'root',
      options: { ec2: { region: REGIONS[i % regionCount], ami: 'ami-12c6146b' } },
      keys: [],
    }));
    const records: Record<string, MachineRecord> = {};
    const limit = pLimit(16);
    await Promise.all(
      machines.map((m) =>
        limit(async () => {
          const save = async (target: TargetRecord) => {
            records[m.name] = { targetEnv: 'ec2', target };
          };
          await provider.create(m, { deployment: 'bench', clientPublicKey: '', facts: {}, save });
        }),
      ),
    );

    const batched: number[] = [];
    const perMachine: number[] = [];
    let batchedCalls = 0;
    let perMachineCalls = 0;
    for (let i = 0; i < iterations; i++) {
      counter.reset();
      batched.push((await timed(() => provider.observe('bench', machines, records, {}))).ms);
      batchedCalls = counter.calls.length;
      counter.reset();
      const baseline = await timed(() =>
        Promise.all(
          machines.map((m) =>
            limit(async () => {
              const rec = parseInstanceRecord(records[m.name]?.target)!;
              await clients
                .ec2(rec.region)
                .send(new DescribeInstancesCommand({ InstanceIds: [rec.instanceId!] }));
            }),
          ),
        ),
      );
      perMachine.push(baseline.ms);
      perMachineCalls = counter.calls.length;
    }
    const result = {
      machines: n,
      regions: regionCount,
      iterations,
      reconix: { calls: batchedCalls, medianMs: median(batched) },
      perMachineBaseline: { calls: perMachineCalls, medianMs: median(perMachine), concurrency: 16 },
    };
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } finally {
    await moto.stop();
    await rm(secretsDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
