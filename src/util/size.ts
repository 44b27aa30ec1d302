// Sizes as flags and the spec write them: "1536M", "1G", "512Mi", "300MB". Units are binary (1K = 1024 bytes),
// as systemd's MemoryMax and Nix's own settings read them.

const UNIT_BYTES: Record<string, number> = { '': 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 };
export const SIZE_PATTERN = '^[0-9]+([KMGT](i?B|i)?|B)?$';
const SIZE = /^([0-9]+)(?:([KMGT])(?:i?B|i)?|B)?$/;

/** Bytes of a size such as "1536M" or "1GiB"; throws on anything else. */
export function parseSize(text: string): number {
  const m = SIZE.exec(text);
  if (!m)
    throw new Error(`invalid size ${JSON.stringify(text.slice(0, 40))}: expected e.g. 512M, 1536M or 2G`);
  const bytes = Number(m[1]) * (UNIT_BYTES[m[2] ?? ''] ?? 1);
  if (!Number.isSafeInteger(bytes)) throw new Error(`size ${JSON.stringify(text.slice(0, 40))} is too large`);
  return bytes;
}

/** A size for people: 1.5 GiB, 300 MiB. */
export function formatSize(bytes: number): string {
  if (!Number.isFinite(bytes)) return 'unlimited';
  if (bytes >= 2 ** 30) return `${(bytes / 2 ** 30).toFixed(1)} GiB`;
  return `${Math.round(bytes / 2 ** 20)} MiB`;
}

/** The bounds of a memory budget for evaluation: a nix-instantiate alone needs tens of MiB. */
export const EVAL_MEMORY_BOUNDS = { min: 64 * 2 ** 20, max: 2 ** 40 } as const;

/** What is wrong with a memory budget, naming the field it came from; undefined when it is fine. */
export function memoryBudgetProblem(field: string, text: string): string | undefined {
  let bytes: number;
  try {
    bytes = parseSize(text);
  } catch (err) {
    return `${field}: ${(err as Error).message}`;
  }
  if (bytes < EVAL_MEMORY_BOUNDS.min)
    return `${field}: ${text} is under 64M, too little for one nix-instantiate`;
  if (bytes > EVAL_MEMORY_BOUNDS.max) return `${field}: ${text} is over 1T`;
  return undefined;
}
