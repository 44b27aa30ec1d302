// AWS clients, the `ec2` target and the resource manager, as the command line configures them.
import path from 'node:path';
import {
  AwsResourceManager,
  awsResourcePass,
  createAwsClients,
  Ec2TargetProvider,
  FileSecretStore,
  type AddressOverrides,
  type AwsCallHook,
  type SecretStore,
} from '../providers/aws/index.js';
import type { BinaryCaches, ResourceManager, TargetProvider } from '../core/ports.js';
import { S3BinaryCaches } from '../providers/aws/binary-cache.js';

export interface AwsSettings {
  /** Another endpoint than AWS's (moto, LocalStack): --aws-endpoint or AWS_ENDPOINT_URL. */
  endpoint?: string;
  allowReboot?: boolean;
  allowRecreate?: boolean;
  killObsolete?: boolean;
  /** Called around every AWS call (counting, tracing). */
  hooks?: AwsCallHook[];
  /** Where SSH reaches an ec2 machine instead of its instance's address. */
  addressOverride?: AddressOverrides;
  /** Credentials of this deployment (from a Kubernetes Secret); default: the environment's. */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Where key pairs' and instances' private keys live; default: files under the state dir. */
  secrets?: SecretStore;
}

/** Settings from the environment, under the command line's. */
export function awsSettingsFromEnv(flags: AwsSettings = {}): AwsSettings {
  const endpoint = flags.endpoint ?? process.env.AWS_ENDPOINT_URL;
  return { ...flags, ...(endpoint ? { endpoint } : {}) };
}

export async function buildAws(
  stateDir: string,
  flags: AwsSettings,
): Promise<{ provider: TargetProvider; resources: ResourceManager; caches: BinaryCaches }> {
  const s = awsSettingsFromEnv(flags);
  // The SDK warns on every run about a future Node requirement; Reconix supports the Node it runs on.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const accessKeyId = s.credentials?.accessKeyId ?? process.env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = s.credentials?.secretAccessKey ?? process.env.AWS_SECRET_ACCESS_KEY;
  const sessionToken = s.credentials ? s.credentials.sessionToken : process.env.AWS_SESSION_TOKEN;
  const clients = createAwsClients({
    ...(s.endpoint ? { endpoint: s.endpoint } : {}),
    ...(accessKeyId && secretAccessKey
      ? { credentials: { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) } }
      : {}),
    hooks: s.hooks ?? [],
  });
  const secrets = s.secrets ?? new FileSecretStore(path.join(stateDir, 'secrets'));
  // The target owns the instances, the manager the resources they refer to; the pass runs one, then the other.
  const provider = new Ec2TargetProvider({
    clients,
    secrets,
    allowReboot: s.allowReboot ?? false,
    allowRecreate: s.allowRecreate ?? false,
    ...(s.addressOverride ? { addressOverride: s.addressOverride } : {}),
  });
  const manager = new AwsResourceManager({
    clients,
    secrets,
    allowRecreate: s.allowRecreate ?? false,
    killObsolete: s.killObsolete ?? false,
  });
  // Binary caches sign with keys kept beside the key pairs' private keys.
  const caches = new S3BinaryCaches({ clients, secrets, ...(s.endpoint ? { endpoint: s.endpoint } : {}) });
  return { provider, resources: awsResourcePass(manager, provider), caches };
}
