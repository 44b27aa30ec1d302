// ec2KeyPairs: the key is made here and only its public half goes to AWS. The private half is a 0600 file that
// only Reconix reads (named after the create call's token, so a retried create imports the same key).
import type { KeyPairInfo } from '@aws-sdk/client-ec2';
import { ec2Sdk } from '../sdk.js';
import type { ResourceRecord } from '../../../core/model.js';
import { aws, hasCode } from '../errors.js';
import { generateEd25519, publicKeyOf } from '../keys.js';
import type { ResourceFacts } from '../refs.js';
import type { SecretStore } from '../secrets.js';
import type { KeyPairSpec } from '../spec.js';
import { deploymentFilter, fromTagList, ownTags, tagSpecs, TAG_NAME, TAG_TOKEN } from '../tags.js';
import { regionOf, type Found, type KindContext, type ResourceKind } from './kind.js';

const { DeleteKeyPairCommand, DescribeKeyPairsCommand, ImportKeyPairCommand } = ec2Sdk;

/** The secret holding a key pair's private key. */
export function keyPairSecret(key: string, token: string): string {
  return `${key}.${token}`;
}

/** Where the private key of a recorded key pair is, for SSH to the instances that use it. */
export function keyPairKeyFile(
  secrets: SecretStore,
  deployment: string,
  record: ResourceRecord,
): string | undefined {
  return record.token
    ? secrets.path(deployment, keyPairSecret(`${record.type}.${record.name}`, record.token))
    : undefined;
}

async function found(ctx: KindContext, region: string, k: KeyPairInfo): Promise<Found> {
  const tags = fromTagList(k.Tags);
  const logical = tags[TAG_NAME];
  const token = tags[TAG_TOKEN];
  const secret =
    logical && token ? await ctx.secrets.read(ctx.deployment, keyPairSecret(logical, token)) : undefined;
  return {
    id: k.KeyPairId ?? k.KeyName ?? '',
    ...(logical ? { logical } : {}),
    ...(token ? { token } : {}),
    ...(k.KeyName ? { awsName: k.KeyName } : {}),
    attrs: { keyName: k.KeyName, region, privateKey: secret ? 'kept by Reconix' : 'missing' },
    facts: {
      name: k.KeyName,
      region,
      keyPairId: k.KeyPairId,
      ...(k.KeyFingerprint ? { fingerprint: k.KeyFingerprint } : {}),
      ...(secret ? { publicKey: publicKeyOf(secret) } : {}),
    },
  };
}

export const keyPairs: ResourceKind<KeyPairSpec> = {
  type: 'ec2KeyPairs',
  mutable: [],

  async list(ctx, region) {
    const out = await aws(`listing key pairs in ${region}`, () =>
      ctx.clients
        .ec2(region)
        .send(new DescribeKeyPairsCommand({ Filters: [deploymentFilter(ctx.deployment)] })),
    );
    return Promise.all((out.KeyPairs ?? []).map((k) => found(ctx, region, k)));
  },

  desired(spec: KeyPairSpec, _facts: ResourceFacts) {
    return { keyName: spec.keyName, region: spec.region, privateKey: 'kept by Reconix' };
  },

  async create(ctx, spec, _facts, token) {
    const secretKey = keyPairSecret(spec.key, token);
    let privateKey = await ctx.secrets.read(ctx.deployment, secretKey);
    if (!privateKey) {
      privateKey = generateEd25519(`reconix ${ctx.deployment} ${spec.name}`).privateKey;
      await ctx.secrets.write(ctx.deployment, secretKey, privateKey);
    }
    const publicKey = publicKeyOf(privateKey);
    const out = await aws(`${spec.key}: importing key pair ${spec.keyName}`, () =>
      ctx.clients.ec2(spec.region).send(
        new ImportKeyPairCommand({
          KeyName: spec.keyName,
          PublicKeyMaterial: Buffer.from(`${publicKey} reconix\n`),
          TagSpecifications: tagSpecs(['key-pair'], ownTags(ctx.deployment, spec.key, token)),
        }),
      ),
    );
    return found(ctx, spec.region, {
      KeyName: out.KeyName ?? spec.keyName,
      ...(out.KeyPairId ? { KeyPairId: out.KeyPairId } : {}),
      ...(out.KeyFingerprint ? { KeyFingerprint: out.KeyFingerprint } : {}),
      Tags: out.Tags ?? [
        { Key: TAG_NAME, Value: spec.key },
        { Key: TAG_TOKEN, Value: token },
      ],
    });
  },

  async update(_ctx, _spec, f) {
    return f;
  },

  async destroy(ctx, record) {
    const region = regionOf(record);
    const id = record.id;
    // By name as well as id: the name is what every EC2 implementation knows a key pair by.
    const name = typeof record.facts.name === 'string' ? record.facts.name : undefined;
    if (region && id) {
      await aws(`${record.type}.${record.name}: deleting key pair ${name ?? id}`, async () => {
        try {
          await ctx.clients
            .ec2(region)
            .send(new DeleteKeyPairCommand(name ? { KeyName: name } : { KeyPairId: id }));
        } catch (err) {
          if (!hasCode(err, 'InvalidKeyPair.NotFound', 'InvalidKeyPairId.NotFound')) throw err;
        }
      });
    }
    if (record.token) {
      await ctx.secrets.remove(ctx.deployment, keyPairSecret(`${record.type}.${record.name}`, record.token));
    }
  },
};
