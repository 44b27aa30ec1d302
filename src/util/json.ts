// JSON as data compares: one spelling per document.

/**
 * JSON with object keys sorted and keys whose value is undefined left out (as JSON.stringify leaves them out of
 * objects), so that two spellings of one document compare equal; undefined itself is "undefined".
 */
export function canonicalJson(v: unknown): string {
  const sort = (x: unknown): unknown => {
    if (Array.isArray(x)) return x.map(sort);
    if (typeof x === 'object' && x !== null) {
      const o = x as Record<string, unknown>;
      return Object.fromEntries(
        Object.keys(o)
          .filter((k) => o[k] !== undefined)
          .sort()
          .map((k) => [k, sort(o[k])]),
      );
    }
    return x;
  };
  return JSON.stringify(sort(v)) ?? 'undefined';
}
