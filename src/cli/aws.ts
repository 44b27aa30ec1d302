// AWS clients, the `ec2` target and the resource manager, as the command line configures them.
import path from 'node:path';
import { Reason, ReconixError } from '../api/conditions.js';
import {
  AwsHandoff,
  AwsResourceManager,
  crashHook,
  createAwsClients,
  Ec2TargetProvider,
  FileSecretStore,
  loadAddressMap,
  parseCrashAt,
  type AwsCallHook,
} from '../providers/aws/index.js';
import type { ResourceManager, TargetProvider } from '../reconcile/ports.js';

export interface AwsSettings {
  /** Another endpoint than AWS's (moto, LocalStack): --aws-endpoint or AWS_ENDPOINT_URL. */
  endpoint?: string;
  allowReboot?: boolean;
  allowRecreate?: boolean;
  killObsolete?: boolean;
  /** Test-only: machines bound to local test hosts (--test-address-map or RECONIX_TEST_ADDRESS_MAP). */
  addressMapFile?: string;
  hooks?: AwsCallHook[];
  /** Credentials of this deployment (from a Kubernetes Secret); default: the environment's. */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
}

/** Settings from the environment, under the command line's. */
export function awsSettingsFromEnv(flags: AwsSettings = {}): AwsSettings {
  const endpoint = flags.endpoint ?? process.env.AWS_ENDPOINT_URL;
  const addressMapFile = flags.addressMapFile ?? process.env.RECONIX_TEST_ADDRESS_MAP;
  return {
    ...flags,
    ...(endpoint ? { endpoint } : {}),
    ...(addressMapFile ? { addressMapFile: path.resolve(addressMapFile) } : {}),
  };
}

export async function buildAws(
  stateDir: string,
  flags: AwsSettings,
): Promise<{ provider: TargetProvider; resources: ResourceManager }> {
  const s = awsSettingsFromEnv(flags);
  // The SDK warns on every run about a future Node requirement; Reconix supports the Node it runs on.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const crash = parseCrashAt(process.env.RECONIX_CRASH_AT);
  const accessKeyId = s.credentials?.accessKeyId ?? process.env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = s.credentials?.secretAccessKey ?? process.env.AWS_SECRET_ACCESS_KEY;
  const sessionToken = s.credentials ? s.credentials.sessionToken : process.env.AWS_SESSION_TOKEN;
  if (s.endpoint && !(accessKeyId && secretAccessKey) && !process.env.AWS_PROFILE) {
    // Else the SDK would look for credentials elsewhere, the instance metadata service included.
    throw new ReconixError(
      Reason.CloudError,
      `--aws-endpoint ${s.endpoint} needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE); any values do for moto`,
      { reaction: 'stall' },
    );
  }
  const clients = createAwsClients({
    ...(s.endpoint ? { endpoint: s.endpoint } : {}),
    ...(accessKeyId && secretAccessKey
      ? { credentials: { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) } }
      : {}),
    hooks: [...(s.hooks ?? []), ...(crash ? [crashHook(crash)] : [])],
  });
  const secrets = new FileSecretStore(path.join(stateDir, 'secrets'));
  const handoff = new AwsHandoff();
  const map = s.addressMapFile ? await loadAddressMap(s.addressMapFile) : {};
  const provider = new Ec2TargetProvider({
    clients,
    secrets,
    handoff,
    addressOverride: (machine) => map[machine],
    // A fake cloud's addresses are never contacted: only mapped test hosts are.
    reach: s.endpoint || serviceEndpointSet() ? 'address-map-only' : 'instance-addresses',
  });
  const resources = new AwsResourceManager({
    clients,
    secrets,
    handoff,
    allowReboot: s.allowReboot ?? false,
    allowRecreate: s.allowRecreate ?? false,
    killObsolete: s.killObsolete ?? false,
  });
  return { provider, resources };
}

/** The SDK also honours per-service endpoints (AWS_ENDPOINT_URL_EC2, ..._S3): those are not AWS either. */
function serviceEndpointSet(): boolean {
  return Object.keys(process.env).some((k) => k.startsWith('AWS_ENDPOINT_URL_') && process.env[k]);
}
