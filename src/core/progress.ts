// Progress of a reconcile as it happens: what each machine and each rollout wave is doing now. Stages emit these
// events through the request's sink; the CLI draws them (a live line per machine, or NDJSON with --json), the
// controllers log them and the fleet page shows them. Events carry no secret: names, stages, counts and reasons.
import type { MACHINE_STAGES } from '../api/progress-output.js';

/** Where one machine is in a reconcile (see MACHINE_STAGES for their order); exec's command is `running`. */
export type MachineStage = (typeof MACHINE_STAGES)[number];

/** The state of one rollout wave. */
export type WaveState = 'started' | 'baking' | 'passed' | 'failed' | 'paused' | 'rolled-back';

export type ProgressEvent =
  | {
      type: 'deployment';
      deployment: string;
      stage: 'started' | 'evaluating' | 'building' | 'applying' | 'done' | 'failed';
      at: string;
      reason?: string;
      message?: string;
    }
  | {
      type: 'machine';
      deployment: string;
      machine: string;
      stage: MachineStage;
      at: string;
      /** Building: derivations built of those to build (for this machine's system, when known). */
      built?: { done: number; total: number };
      /** Copying: bytes sent of the bytes the host is missing (push), or uploaded to the cache (cache). */
      copied?: { bytes: number; total: number; mode?: 'push' | 'cache' };
      /** The rollout wave the machine is in (1-based), when the deployment rolls out in waves. */
      wave?: number;
      /** exec: the command's exit code, once it ended (done or failed). */
      exitCode?: number;
      /** A condition reason on failure or rollback, e.g. HealthCheckFailed, ConnectivityLost. */
      reason?: string;
      message?: string;
    }
  | {
      type: 'wave';
      deployment: string;
      /** 1-based. */
      wave: number;
      waves: number;
      machines: readonly string[];
      state: WaveState;
      at: string;
      reason?: string;
      message?: string;
    }
  | {
      /**
       * A line of build or activation output (with -v), or of what exec's command printed (exec --json); secrets
       * never pass through here.
       */
      type: 'output';
      deployment: string;
      machine?: string;
      stream: 'build' | 'activation' | 'stdout' | 'stderr';
      line: string;
      at: string;
    };

export type ProgressSink = (event: ProgressEvent) => void;

/** A sink that drops everything: the default when nobody watches. */
export const noProgress: ProgressSink = () => {};
