// The reconix command as the AWS tests run it: each ec2 machine is reached at the local test host a map binds it
// to, and refused when it has none, so that a test never contacts an address moto hands out; it can be killed at a
// chosen AWS call. From this process's environment:
//   TEST_CLI_ADDRESS_MAP=FILE           the map (see address-map.ts); none: every ec2 machine is refused
//   TEST_CLI_CRASH_AT=before:N|after:N  SIGKILL before sending, or after the answer to, the N-th mutating AWS call,
//                                       first writing CRASH_MARKER and the point on stderr
//   TEST_CLI_CALL_LOG=FILE              log the mutating AWS calls (the crash points this run has) to FILE
import { writeSync } from 'node:fs';
import { resolve } from 'node:path';
import { runCli } from '../../src/cli/main.js';
import type { AwsCallHook } from '../../src/providers/aws/index.js';
import { loadAddressMap, testHostsOnly, type AddressMap } from './address-map.js';
import { CRASH_MARKER, crashHook, mutatingCallLog, parseCrashAt } from './aws-hooks.js';

async function main(): Promise<void> {
  const env = process.env;
  // Without credentials of its own the SDK would ask the instance metadata service, an address no test may reach.
  if (!env.AWS_ACCESS_KEY_ID || !env.AWS_SECRET_ACCESS_KEY) {
    throw new Error('AWS tests set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (any values do for moto)');
  }
  const mapFile = env.TEST_CLI_ADDRESS_MAP ? resolve(env.TEST_CLI_ADDRESS_MAP) : undefined;
  const map: AddressMap = mapFile ? await loadAddressMap(mapFile) : {};
  const hooks: AwsCallHook[] = [];
  const crash = parseCrashAt(env.TEST_CLI_CRASH_AT, 'TEST_CLI_CRASH_AT');
  if (crash) {
    hooks.push(
      crashHook(crash, (call) => {
        writeSync(2, `${CRASH_MARKER}${crash.when}:${crash.call} (${call.service} ${call.command})\n`);
        process.kill(process.pid, 'SIGKILL');
      }),
    );
  }
  if (env.TEST_CLI_CALL_LOG) hooks.push(mutatingCallLog(resolve(env.TEST_CLI_CALL_LOG)));
  const addressOverride = testHostsOnly(map, mapFile ?? 'the test entry (no TEST_CLI_ADDRESS_MAP)');
  await runCli(process.argv, { aws: { hooks, addressOverride } });
}

await main().catch((err: unknown) => {
  process.stderr.write(`reconix-test-cli: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(2);
});
