// What the fuzz tests share: the seed (printed, so that a failure can be replayed) and the hostile words.
import fc from 'fast-check';

export const SEED = Number(process.env.RECONIX_FUZZ_SEED ?? Date.now() % 2 ** 31);

/** Text that breaks shells, YAML or Nix when it is pasted instead of passed. */
export const NASTY = ['$(touch /tmp/x)', '`id`', '; rm -rf /', '"', "'", '\\', '\n', '${x}', '*'];

/** Any short string, a hostile one (NASTY and `extra`), or a plausible name matching `plausible`. */
export function words(
  maxLength: number,
  plausible: RegExp,
  extra: readonly string[] = [],
): fc.Arbitrary<string> {
  return fc.oneof(
    fc.string({ maxLength }),
    fc.constantFrom(...NASTY, ...extra),
    fc.stringMatching(plausible),
  );
}
