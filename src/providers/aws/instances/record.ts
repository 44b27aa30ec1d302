// What Reconix records about an EC2 instance (the machine's TargetRecord), and how instances are matched to it.
import { randomBytes } from 'node:crypto';
import type { Instance } from '@aws-sdk/client-ec2';
import type { TargetRecord } from '../../../core/model.js';
import { fromTagList, TAG_NAME } from '../tags.js';

export interface InstanceRecord {
  region: string;
  /** The ClientToken of the current (or last) RunInstances attempt; recorded before the call. */
  token: string;
  instanceId?: string;
  /** The host key handed to the instance in its user data: pinned, never trusted on first use. */
  hostPublicKey?: string;
  zone?: string;
  privateIp?: string;
  publicIp?: string;
  /** The private key file SSH uses (a managed key pair's, or deployment.ec2.privateKey). A path, not a secret. */
  keyFile?: string;
  /** Set once the instance runs with its address and volumes attached; until then a rerun completes it. */
  ready?: boolean;
}

export function parseInstanceRecord(t: TargetRecord | undefined): InstanceRecord | undefined {
  if (!t || typeof t.region !== 'string' || typeof t.token !== 'string') return undefined;
  const r: InstanceRecord = { region: t.region, token: t.token };
  for (const k of ['instanceId', 'hostPublicKey', 'zone', 'privateIp', 'publicIp', 'keyFile'] as const) {
    const v = t[k];
    if (typeof v === 'string') r[k] = v;
  }
  if (t.ready === true) r.ready = true;
  return r;
}

export function toTarget(r: InstanceRecord): TargetRecord {
  return { ...r };
}

/** A fresh idempotency token (48 characters, as NixOps makes them; AWS allows 64). */
/** The secret holding the private host key of a launch, until the instance has it. */
export const hostKeySecret = (machine: string, token: string): string => `host-key.${machine}.${token}`;

export function newToken(): string {
  return randomBytes(24).toString('hex');
}

export const stateOf = (i: Instance): string => i.State?.Name ?? 'unknown';

/** Whether the instance is gone or going: its token must never be used again. */
export function isGone(i: Instance): boolean {
  const s = stateOf(i);
  return s === 'terminated' || s === 'shutting-down';
}

/**
 * The instance of a machine among a deployment's instances: by recorded id, then by the recorded token (moto and
 * AWS both list ClientToken, though neither filters by it reliably), then by the machine's name tag.
 */
export function matchInstance(
  instances: readonly Instance[],
  machine: string,
  record: InstanceRecord | undefined,
): Instance | undefined {
  const alive = instances.filter((i) => !isGone(i));
  if (record?.instanceId) {
    // The recorded id counts only for an instance tagged as this machine's: the state may have been edited.
    const byId = instances.find((i) => i.InstanceId === record.instanceId);
    if (byId && !isGone(byId) && fromTagList(byId.Tags)[TAG_NAME] === machine) return byId;
  }
  if (record?.token) {
    const byToken = alive.find((i) => i.ClientToken === record.token);
    if (byToken) return byToken;
  }
  return alive.find((i) => fromTagList(i.Tags)[TAG_NAME] === machine);
}

/** Whether a token was used by an instance that is gone (AWS would answer IdempotentInstanceTerminated). */
export function tokenBurned(instances: readonly Instance[], record: InstanceRecord): boolean {
  return instances.some((i) => i.ClientToken === record.token && isGone(i));
}

/** Every live instance tagged with this machine's name other than `keep`: duplicates to remove. */
export function strays(
  instances: readonly Instance[],
  machine: string,
  keep: string | undefined,
): Instance[] {
  return instances.filter(
    (i) => !isGone(i) && i.InstanceId !== keep && fromTagList(i.Tags)[TAG_NAME] === machine,
  );
}

/** NixOps' user data: the host key pair, the private key's newlines as "|". */
export function hostKeyUserData(publicKey: string, privateKey: string): string {
  return `SSH_HOST_ED25519_KEY_PUB:${publicKey}\nSSH_HOST_ED25519_KEY:${privateKey.trim().replace(/\n/g, '|')}\n`;
}

/** The public host key in user data, for instances adopted without a record. */
export function hostKeyFromUserData(userData: string): string | undefined {
  const m = /^SSH_HOST_ED25519_KEY_PUB:(ssh-ed25519 [A-Za-z0-9+/=]+)/m.exec(userData);
  return m?.[1];
}
