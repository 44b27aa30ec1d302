// Credentials a NixDeployment names by Secret reference: the SSH client key and AWS credentials. Read per
// reconcile (RBAC grants `get` on Secrets, nothing more) and handed to the reconciler only. Errors name the
// Secret and the key, never a byte of their contents.
import ssh2, { type ParsedKey } from 'ssh2';
import { Reason } from '../../api/conditions.js';
import { ReconixError } from '../../core/errors.js';
import type { ClientKey } from '../../observe/run.js';
import type { SecretApi } from '../../kube/api.js';
import { isNotFound, kubeMessage } from '../../kube/errors.js';
import type { NixDeploymentObject } from '../../kube/object.js';
import type { KeyFromSecret } from '../../api/deployment.js';

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  region?: string;
}

export interface DeploymentSecrets {
  /** From spec.sshKeySecretRef; absent means no key at all (never the controller's own). */
  clientKey?: ClientKey;
  /** From spec.awsCredentialsSecretRef. */
  aws?: AwsCredentials;
  /** spec.keys with their contents, read from their Secrets. */
  keys?: SecretKey[];
}

export interface SecretKey {
  spec: KeyFromSecret;
  content: Buffer;
}

const secretError = (message: string, cause?: unknown) =>
  new ReconixError(Reason.SecretNotFound, message, {
    reaction: 'stall',
    ...(cause === undefined ? {} : { cause }),
  });

async function readSecret(api: SecretApi, namespace: string, name: string): Promise<Record<string, Buffer>> {
  try {
    const secret = await api.readNamespacedSecret({ name, namespace });
    const data: Record<string, Buffer> = {};
    for (const [k, v] of Object.entries(secret.data ?? {})) data[k] = Buffer.from(v, 'base64');
    for (const [k, v] of Object.entries(secret.stringData ?? {})) data[k] = Buffer.from(v, 'utf8');
    return data;
  } catch (err) {
    if (isNotFound(err)) throw secretError(`Secret ${namespace}/${name} does not exist`);
    throw new ReconixError(
      Reason.SecretNotFound,
      `cannot read Secret ${namespace}/${name}: ${kubeMessage(err)}`,
    );
  }
}

/** The public half of an OpenSSH or PEM private key, as an authorized_keys line. */
export function clientKeyFrom(privateKey: Buffer, where: string): ClientKey {
  const parsed = ssh2.utils.parseKey(privateKey);
  const key = Array.isArray(parsed) ? (parsed[0] as unknown) : parsed;
  if (key instanceof Error || !key || typeof key !== 'object' || !('getPublicSSH' in key)) {
    // ssh2's message says what is wrong with the format only; still, keep it out in case that ever changes.
    throw secretError(`${where} does not hold an unencrypted OpenSSH or PEM private key`);
  }
  const k = key as ParsedKey;
  if (!k.isPrivateKey()) throw secretError(`${where} holds a public key, not a private one`);
  return {
    privateKey: privateKey.toString('utf8'),
    publicKey: `${k.type} ${k.getPublicSSH().toString('base64')} reconix`,
  };
}

export async function readDeploymentSecrets(
  api: SecretApi,
  obj: NixDeploymentObject,
): Promise<DeploymentSecrets> {
  const ns = obj.metadata.namespace;
  const out: DeploymentSecrets = {};
  const sshRef = obj.spec.sshKeySecretRef;
  if (sshRef) {
    const data = await readSecret(api, ns, sshRef.name);
    const value = data[sshRef.key];
    const where = `key ${JSON.stringify(sshRef.key)} of Secret ${ns}/${sshRef.name}`;
    if (!value) throw secretError(`${where} is missing or empty`);
    out.clientKey = clientKeyFrom(value, where);
  }
  const awsRef = obj.spec.awsCredentialsSecretRef;
  if (awsRef) {
    const data = await readSecret(api, ns, awsRef.name);
    const get = (k: string) => data[k]?.toString('utf8').trim() || undefined;
    const accessKeyId = get('AWS_ACCESS_KEY_ID');
    const secretAccessKey = get('AWS_SECRET_ACCESS_KEY');
    if (!accessKeyId || !secretAccessKey) {
      throw secretError(
        `Secret ${ns}/${awsRef.name} needs the keys AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY`,
      );
    }
    const sessionToken = get('AWS_SESSION_TOKEN');
    const region = get('AWS_REGION');
    out.aws = {
      accessKeyId,
      secretAccessKey,
      ...(sessionToken ? { sessionToken } : {}),
      ...(region ? { region } : {}),
    };
  }
  if (obj.spec.keys && obj.spec.keys.length > 0) {
    out.keys = [];
    for (const spec of obj.spec.keys) {
      const ref = spec.secretRef;
      const value = (await readSecret(api, ns, ref.name))[ref.key];
      if (!value) {
        throw secretError(
          `key ${JSON.stringify(spec.name)}: key ${JSON.stringify(ref.key)} of Secret ${ns}/${ref.name} is missing`,
        );
      }
      out.keys.push({ spec, content: value });
    }
  }
  return out;
}
