// Structured logs: one JSON object per line on stderr. Callers never pass secrets in fields.
import type { Logger } from '../core/ports.js';

export type Level = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export function jsonLogger(
  minLevel: Level = 'info',
  write: (line: string) => void = (l) => process.stderr.write(l + '\n'),
): Logger {
  const emit = (level: Level, msg: string, fields?: Record<string, unknown>) => {
    if (ORDER[level] < ORDER[minLevel]) return;
    write(JSON.stringify({ ts: new Date().toISOString(), level, msg, ...fields }));
  };
  return {
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
  };
}

export const silentLogger: Logger = { info: () => undefined, warn: () => undefined, error: () => undefined };

export type LogFormat = 'json' | 'text';
export const LOG_FORMATS: readonly LogFormat[] = ['json', 'text'];

/** The fields a reader looks for first, in this order, before the rest. */
const FIRST = ['deployment', 'machine', 'stage', 'reason'];

function textValue(v: unknown): string {
  const s = typeof v === 'string' ? v : v instanceof Error ? v.message : JSON.stringify(v);
  return /^[^\s"=]+$/.test(s ?? '') ? (s as string) : JSON.stringify(s ?? String(v));
}

/**
 * Logs for people: `TIME LEVEL message key=value...`, one line each; deployment, machine, stage and reason come
 * first when known, values with spaces or quotes are quoted.
 */
export function textLogger(
  minLevel: Level = 'info',
  write: (line: string) => void = (l) => process.stderr.write(l + '\n'),
): Logger {
  const emit = (level: Level, msg: string, fields: Record<string, unknown> = {}) => {
    if (ORDER[level] < ORDER[minLevel]) return;
    const keys = [
      ...FIRST.filter((k) => k in fields),
      ...Object.keys(fields).filter((k) => !FIRST.includes(k)),
    ];
    const pairs = keys.filter((k) => fields[k] !== undefined).map((k) => `${k}=${textValue(fields[k])}`);
    write([new Date().toISOString(), level.toUpperCase().padEnd(5), msg, ...pairs].join(' '));
  };
  return {
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
  };
}

/** The logger of a format; without one, text when stderr is a terminal and JSON otherwise. */
export function logger(
  format: LogFormat | undefined,
  o: { minLevel?: Level; isTerminal?: boolean; write?: (line: string) => void } = {},
): Logger {
  const text = (format ?? ((o.isTerminal ?? process.stderr.isTTY === true) ? 'text' : 'json')) === 'text';
  return (text ? textLogger : jsonLogger)(o.minLevel ?? 'info', o.write);
}
