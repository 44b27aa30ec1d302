// Durations as the spec writes them: "5m", "1h30m", "10s", "500ms".

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const WHOLE = /^(?:[0-9]+(?:ms|s|m|h))+$/;
const PART = /([0-9]+)(ms|s|m|h)/g;

/** Milliseconds of a duration such as "1h30m"; throws on anything else. */
export function parseDuration(text: string): number {
  if (!WHOLE.test(text)) {
    throw new Error(`invalid duration ${JSON.stringify(text)}: expected e.g. 5m, 1h30m, 10s or 500ms`);
  }
  let total = 0;
  for (const [, amount, unit] of text.matchAll(PART)) {
    total += Number(amount) * (UNIT_MS[unit ?? ''] ?? 0);
  }
  if (!Number.isSafeInteger(total)) throw new Error(`duration ${JSON.stringify(text)} is too long`);
  return total;
}
