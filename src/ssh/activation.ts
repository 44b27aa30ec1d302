// The host side of an activation: a script run detached from the SSH session that starts it (setsid), so that it
// outlives that session. It sets the profile, runs switch-to-configuration within a time limit, then waits for a
// confirmation that arrives over a new connection; without one it switches back by itself (deploy-rs's magic
// rollback). Its state lives in ACTIVATIONS_DIR/<id>: `status`, `log`, `pid`, `generation`, and `decided`, a
// directory whose creation (atomic, by the controller or the script, whoever comes first) settles the outcome.
import { shellJoin } from '../util/shell.js';
import type { ActivationState, ActivationStatus } from '../core/model.js';
import { ACTIVATIONS, parseActivationStatus, SYSTEM_PROFILE } from './observation.js';

export type { ActivationStatus };

export const ACTIVATIONS_DIR = ACTIVATIONS;
export const parseStatus = parseActivationStatus;

/** The states after which the script does nothing more. */
export function isFinal(state: ActivationState): boolean {
  return state === 'confirmed' || state === 'done' || state === 'rolled-back' || state === 'rollback-failed';
}

/**
 * Arguments: $1 directory, $2 system, $3 mode, $4 previous generation, $5 previous system (both may be empty),
 * $6 confirmation wait in ms (0: none), $7 activation time limit in seconds. `timeout` runs
 * switch-to-configuration in a process group of its own and signals the whole group, so a hung activation
 * script's children die with it.
 */
export const ACTIVATION_SCRIPT = `set -u
d=$1 system=$2 mode=$3 prev_gen=$4 prev_system=$5 confirm_ms=$6 limit=$7
profile=${SYSTEM_PROFILE}
status() { printf '%s\\n' "$*" >"$d/status.new" && mv -f "$d/status.new" "$d/status"; }
rollback() {
  status rolling-back "$1"
  ok=1
  if [ -z "$prev_system" ] && [ -z "$prev_gen" ]; then
    echo "nothing to roll back to: the host ran no system before"
    ok=0
  fi
  if [ "$mode" != test ] && [ -n "$prev_gen" ]; then
    nix-env -p "$profile" --switch-generation "$prev_gen" || ok=0
  fi
  if [ "$mode" != boot ] && [ -n "$prev_system" ]; then
    back=switch
    [ "$mode" = test ] && back=test
    echo "switching back to $prev_system"
    timeout -k 5 "$limit" "$prev_system/bin/switch-to-configuration" "$back" || ok=0
  fi
  if [ "$ok" = 1 ]; then status rolled-back "$1"; else status rollback-failed "$1"; fi
  exit 1
}
echo $$ >"$d/pid"
status activating
if [ "$mode" != test ]; then
  nix-env -p "$profile" --set "$system" || { status rollback-failed ActivationFailed; exit 1; }
  readlink "$profile" >"$d/generation"
fi
timeout -k 5 "$limit" "$system/bin/switch-to-configuration" "$mode"
rc=$?
if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
  echo "switch-to-configuration $mode did not finish within $limit s"
  rollback ActivationTimeout
elif [ "$rc" != 0 ]; then
  echo "switch-to-configuration $mode exited with code $rc"
  rollback ActivationFailed
fi
if [ "$confirm_ms" = 0 ]; then status done; exit 0; fi
status awaiting-confirmation
ticks=$((confirm_ms / 200 + 1))
while [ "$ticks" -gt 0 ] && [ ! -d "$d/decided" ]; do
  sleep 0.2
  ticks=$((ticks - 1))
done
if mkdir "$d/decided" 2>/dev/null; then
  echo "no confirmation within $confirm_ms ms"
  rollback ConnectivityLost
fi
status confirmed
`;

export interface ActivationArgs {
  id: string;
  system: string;
  mode: 'switch' | 'boot' | 'test';
  /** The generation to set the profile back to, and the system to switch back to (test: the running one). */
  previous: { generation?: number; system?: string };
  /** 0: do not wait for a confirmation. */
  confirmMs: number;
  activationTimeoutMs: number;
}

export function activationDir(id: string): string {
  if (!/^[0-9a-z-]+$/.test(id)) throw new Error(`not an activation id: ${JSON.stringify(id)}`);
  return `${ACTIVATIONS_DIR}/${id}`;
}

/** Writes the script (its text on stdin) and starts it detached, its output in `log`; prints `started`. */
export function startCommand(a: ActivationArgs): string {
  const d = activationDir(a.id);
  const script = `${d}/activate.sh`;
  const args = [
    d,
    a.system,
    a.mode,
    a.previous.generation === undefined ? '' : String(a.previous.generation),
    a.previous.system ?? '',
    String(Math.max(0, Math.round(a.confirmMs))),
    String(Math.max(1, Math.ceil(a.activationTimeoutMs / 1000))),
  ];
  return [
    // Old activations go, but the last few stay for the observation and for reading their logs.
    `{ cd ${ACTIVATIONS_DIR} 2>/dev/null && ls -1 | sort | head -n -9 | xargs -r rm -rf --; cd /; true; }`,
    `mkdir -p ${shellJoin([d])}`,
    `cat >${shellJoin([script])}`,
    `printf 'activating\\n' >${shellJoin([`${d}/status`])}`,
    `{ setsid sh ${shellJoin([script, ...args])} </dev/null >${shellJoin([`${d}/log`])} 2>&1 & }`,
    'echo started',
  ].join(' && ');
}

/** The line between the status and the log's lines in what statusCommand prints. */
export const LOG_MARK = '--- log ---';

/**
 * Prints the status on the first line, then the generation link (when the profile was set); with `log`, then
 * LOG_MARK and at most `log.max` lines of the log from line `log.from` on (1-based), those the controller has not
 * read yet. The log is read after the status, so a final status comes with the whole log.
 */
export function statusCommand(id: string, log?: { from: number; max: number }): string {
  const d = shellJoin([activationDir(id)]);
  const status = `cat ${d}/status; echo; cat ${d}/generation 2>/dev/null`;
  if (!log) return `${status}; true`;
  const from = Math.max(1, Math.floor(log.from));
  const max = Math.max(1, Math.floor(log.max));
  return `${status}; echo ${shellJoin([LOG_MARK])}; tail -n +${from} ${d}/log 2>/dev/null | head -n ${max}; true`;
}

/** Creates `decided` if nobody did: prints `confirmed` when this call settled it, `late` when the host had. */
export function confirmCommand(id: string): string {
  const d = shellJoin([`${activationDir(id)}/decided`]);
  return `if mkdir ${d} 2>/dev/null; then echo confirmed; else echo late; fi`;
}

/** The last lines of the activation's log. */
export function logCommand(id: string, lines = 20): string {
  return `tail -n ${lines} ${shellJoin([`${activationDir(id)}/log`])} 2>/dev/null; true`;
}
