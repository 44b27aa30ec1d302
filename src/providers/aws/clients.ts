// AWS clients, one per service and region, with retries and backoff, and hooks that see every call.
import type { EC2Client } from '@aws-sdk/client-ec2';
import type { S3Client } from '@aws-sdk/client-s3';
import { ec2Sdk, s3Sdk } from './sdk.js';

export interface AwsClients {
  ec2(region: string): EC2Client;
  s3(region: string): S3Client;
}

/** One API call as hooks see it. */
export interface AwsCall {
  service: 'ec2' | 's3';
  region: string;
  command: string;
}

/** Sees every call, before it is sent and once it is answered: to count, trace or act on AWS calls. */
export interface AwsCallHook {
  before?(call: AwsCall): void;
  after?(call: AwsCall, ok: boolean): void;
}

export interface AwsClientOptions {
  /** A different endpoint than AWS's own (moto, a proxy). S3 then uses path-style addressing. */
  endpoint?: string;
  /** Static credentials; without them the SDK's default chain (environment, profile, instance role) is used. */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Attempts per call, the first included. Default 10. */
  maxAttempts?: number;
  /**
   * "adaptive" (default) backs off exponentially with jitter on throttling and 5xx errors and also slows the
   * client down while AWS throttles; "standard" only backs off.
   */
  retryMode?: 'standard' | 'adaptive';
  hooks?: readonly AwsCallHook[];
}

type Stack = {
  add(
    mw: (
      next: (args: unknown) => Promise<unknown>,
      context: { commandName?: string },
    ) => (args: unknown) => Promise<unknown>,
    options: { step: 'initialize'; name: string; override?: boolean },
  ): void;
};

function addHooks(stack: Stack, service: AwsCall['service'], region: string, hooks: readonly AwsCallHook[]) {
  if (hooks.length === 0) return;
  stack.add(
    (next, context) => async (args) => {
      const call: AwsCall = {
        service,
        region,
        command: (context.commandName ?? 'Unknown').replace(/Command$/, ''),
      };
      for (const h of hooks) h.before?.(call);
      let ok = false;
      try {
        const out = await next(args);
        ok = true;
        return out;
      } finally {
        for (const h of hooks) h.after?.(call, ok);
      }
    },
    { step: 'initialize', name: 'reconixCallHooks', override: true },
  );
}

/**
 * The HTTP handler's own warnings, but for one: that calls wait for one of its 50 sockets. Reconix sends the calls
 * of a fleet's creation (1,000 instances) at once and lets the handler queue them, on purpose.
 */
const handlerLogger = {
  debug: (): void => undefined,
  info: (): void => undefined,
  warn: (message: unknown): void => {
    if (!String(message).includes('socket usage at capacity')) console.warn(message);
  },
  error: (message: unknown): void => console.error(message),
};

/** Clients made on first use and kept for the lifetime of this object (one per region and service). */
export function createAwsClients(opts: AwsClientOptions = {}): AwsClients {
  const ec2 = new Map<string, EC2Client>();
  const s3 = new Map<string, S3Client>();
  const hooks = opts.hooks ?? [];
  const common = (region: string) => ({
    region,
    maxAttempts: opts.maxAttempts ?? 10,
    retryMode: opts.retryMode ?? 'adaptive',
    requestHandler: { logger: handlerLogger },
    ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
    ...(opts.credentials ? { credentials: opts.credentials } : {}),
  });
  return {
    ec2(region) {
      let c = ec2.get(region);
      if (!c) {
        c = new ec2Sdk.EC2Client(common(region));
        addHooks(c.middlewareStack as unknown as Stack, 'ec2', region, hooks);
        ec2.set(region, c);
      }
      return c;
    },
    s3(region) {
      let c = s3.get(region);
      if (!c) {
        c = new s3Sdk.S3Client({ ...common(region), forcePathStyle: Boolean(opts.endpoint) });
        addHooks(c.middlewareStack as unknown as Stack, 's3', region, hooks);
        s3.set(region, c);
      }
      return c;
    },
  };
}
