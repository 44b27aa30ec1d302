// Durations as Kubernetes and Flux write them: "30s", "5m", "1h30m", "500ms".

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

export function parseDurationMs(text: string): number {
  const re = /([0-9]+)(ms|s|m|h)/gy;
  let total = 0;
  let matched = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    total += Number(m[1]) * (UNIT_MS[m[2]!] ?? 0);
    matched = re.lastIndex;
  }
  if (text.length === 0 || matched !== text.length) {
    throw new Error(`invalid duration ${JSON.stringify(text)}: use forms like 30s, 5m, 1h30m`);
  }
  return total;
}
