// AWS errors as Reconix errors: the AWS error code and the object concerned in the message, the SDK error as cause.
import { Reason } from '../../api/conditions.js';
import { ReconixError, type Reaction } from '../../core/errors.js';
import type { Clock } from '../../core/ports.js';

interface SdkError {
  name?: string;
  Code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  $retryable?: unknown;
}

/** The AWS error code of an SDK error ("InvalidGroup.NotFound", "NoSuchBucket"...). */
export function awsCode(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as SdkError;
  return e.Code ?? (e.name && e.name !== 'Error' ? e.name : undefined);
}

export function hasCode(err: unknown, ...codes: string[]): boolean {
  const code = awsCode(err);
  return code !== undefined && codes.includes(code);
}

export function httpStatus(err: unknown): number | undefined {
  return (err as SdkError | null)?.$metadata?.httpStatusCode;
}

/** Codes that no retry will fix: the spec or the account must change first. */
const NEEDS_A_HUMAN = new Set([
  'AuthFailure',
  'UnauthorizedOperation',
  'InvalidClientTokenId',
  'SignatureDoesNotMatch',
  'OptInRequired',
  'AccessDenied',
  'InvalidParameterValue',
  'InvalidParameterCombination',
  'MissingParameter',
  'InvalidAMIID.Malformed',
  'InvalidAMIID.NotFound',
  'InvalidSubnetID.NotFound',
  'InvalidBucketName',
  'BucketAlreadyExists',
  'MalformedPolicy',
  'MalformedXML',
  'IdempotentParameterMismatch',
  'Unsupported',
]);

function reactionOf(err: unknown): Reaction {
  const code = awsCode(err);
  if (code !== undefined && NEEDS_A_HUMAN.has(code)) return 'stall';
  return 'retry';
}

/** A ReconixError(CloudError) naming what was being done and the AWS error code. */
export function cloudError(what: string, err: unknown): ReconixError {
  if (err instanceof ReconixError) return err;
  const code = awsCode(err) ?? 'UnknownError';
  const status = httpStatus(err);
  const detail = err instanceof Error ? err.message : String(err);
  return new ReconixError(
    Reason.CloudError,
    `${what}: AWS error ${code}${status ? ` (HTTP ${status})` : ''}: ${detail}`,
    { cause: err, reaction: reactionOf(err) },
  );
}

/** Run an AWS call; a failure becomes a cloudError about `what`. */
export async function aws<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw cloudError(what, err);
  }
}

/**
 * Retry a call that fails while AWS catches up with itself (an instance id not yet visible after RunInstances,
 * a group still in use while an instance terminates). Throttling and 5xx are the SDK's business, not this one's.
 */
export async function eventually<T>(
  clock: Clock,
  codes: readonly string[],
  call: () => Promise<T>,
  opts: { attempts?: number; delayMs?: number } = {},
): Promise<T> {
  const attempts = opts.attempts ?? 8;
  let delay = opts.delayMs ?? 500;
  for (let i = 1; ; i++) {
    try {
      return await call();
    } catch (err) {
      if (i >= attempts || !hasCode(err, ...codes)) throw err;
      await clock.sleep(delay);
      delay = Math.min(delay * 2, 15_000);
    }
  }
}

/** Poll until `done` says yes, or fail after `timeoutMs`. */
export async function waitFor(
  clock: Clock,
  what: string,
  done: () => Promise<boolean>,
  timeoutMs = 600_000,
  everyMs = 2_000,
): Promise<void> {
  const deadline = clock.now().getTime() + timeoutMs;
  while (!(await done())) {
    if (clock.now().getTime() > deadline) {
      throw new ReconixError(
        Reason.CloudError,
        `timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}`,
      );
    }
    await clock.sleep(everyMs);
  }
}

/** A resource not reconciled because one it depends on failed: reported, but not an error of its own. */
export class SkippedResource extends Error {
  constructor(
    readonly resource: string,
    readonly blocker: string,
  ) {
    super(`${resource}: skipped because ${blocker} failed`);
    this.name = 'SkippedResource';
  }
}
