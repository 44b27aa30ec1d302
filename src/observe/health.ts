// A machine's health checks after activation: a command on the host, an HTTP request from here, or "no failed
// systemd units". Each is tried until it passes, `retries` more times `period` apart.
import type { HealthCheck } from '../api/rollout.js';
import type { Clock, HostSession } from '../core/ports.js';
import { checkName } from '../plan/waves.js';
import { parseDuration } from '../util/duration.js';
import { shellQuote } from '../util/shell.js';

export interface HealthTarget {
  machine: string;
  /** The machine's address, {{address}} in an HTTP check's URL. */
  address?: string;
  session: HostSession;
}

export interface HealthDeps {
  clock: Clock;
  signal: AbortSignal;
  fetch?: typeof fetch;
}

export type HealthVerdict = { ok: true } | { ok: false; check: string; message: string };

/** Run every check of a machine in order; the first that still fails after its retries is the verdict. */
export async function runHealthChecks(
  target: HealthTarget,
  checks: readonly HealthCheck[],
  deps: HealthDeps,
): Promise<HealthVerdict> {
  for (const check of checks) {
    const name = checkName(check);
    const delay = parseDuration(check.initialDelay ?? '0s');
    if (delay > 0) await deps.clock.sleep(delay);
    const attempts = (check.retries ?? 3) + 1;
    let message = '';
    for (let i = 1; i <= attempts; i++) {
      if (deps.signal.aborted) return { ok: false, check: name, message: 'cancelled' };
      message = await attempt(target, check, deps);
      if (message === '') break;
      if (i < attempts) await deps.clock.sleep(parseDuration(check.period ?? '2s'));
    }
    if (message !== '') return { ok: false, check: name, message: `${message} (${attempts} attempts)` };
  }
  return { ok: true };
}

/** One attempt: '' when healthy, else what went wrong. */
async function attempt(target: HealthTarget, check: HealthCheck, deps: HealthDeps): Promise<string> {
  const timeoutMs = parseDuration(check.timeout ?? '10s');
  const kinds = [check.cmd !== undefined, check.http !== undefined, check.systemd === true].filter(Boolean);
  if (kinds.length !== 1)
    return `a health check needs exactly one of cmd, http and systemd = true, not ${kinds.length}`;
  try {
    if (check.cmd !== undefined) return await onHost(target.session, check.cmd, timeoutMs);
    if (check.http) return await overHttp(target, check.http, timeoutMs, deps.fetch ?? fetch);
    return await failedUnits(target.session, timeoutMs);
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

function runner(session: HostSession): NonNullable<HostSession['runCommand']> {
  if (!session.runCommand) throw new Error('this host session cannot run commands');
  return session.runCommand.bind(session);
}

const seconds = (ms: number) => String(Math.max(1, Math.ceil(ms / 1000)));

async function onHost(session: HostSession, cmd: string, timeoutMs: number): Promise<string> {
  const r = await runner(session)(`timeout -k 2 ${seconds(timeoutMs)} sh -c ${shellQuote(cmd)}`);
  if (r.exitCode === 0) return '';
  if (r.exitCode === 124) return `timed out after ${seconds(timeoutMs)}s`;
  const said = (r.stderr.trim() || r.stdout.trim()).split('\n').slice(-3).join(' | ').slice(0, 300);
  return `exit ${r.exitCode ?? r.signal}${said ? `: ${said}` : ''}`;
}

async function failedUnits(session: HostSession, timeoutMs: number): Promise<string> {
  const r = await runner(session)(
    `timeout -k 2 ${seconds(timeoutMs)} systemctl list-units --failed --no-legend --plain`,
  );
  if (r.exitCode !== 0) return `systemctl exit ${r.exitCode ?? r.signal}: ${r.stderr.trim().slice(0, 200)}`;
  const units = r.stdout
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter((u) => u !== '');
  return units.length === 0 ? '' : `failed units: ${units.slice(0, 5).join(', ')}`;
}

async function overHttp(
  target: HealthTarget,
  http: NonNullable<HealthCheck['http']>,
  timeoutMs: number,
  fetchFn: typeof fetch,
): Promise<string> {
  const url = http.url.replaceAll('{{address}}', target.address ?? '');
  const res = await fetchFn(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'manual' });
  const body = await res.text();
  const want = http.status ?? 200;
  if (res.status !== want) return `${url} answered ${res.status}, not ${want}`;
  if (http.body !== undefined && !body.includes(http.body))
    return `${url}: the body does not contain ${JSON.stringify(http.body)}`;
  return '';
}
