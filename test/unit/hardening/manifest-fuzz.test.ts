// 10,000 generated YAML texts through the real manifest loader: each ends in manifests or in clear errors
// (a ReconixError with a reason and a message, no stack, no "undefined"), never in a throw or a long stall.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { ReconixError } from '../../../src/core/errors.js';
import { parseManifests } from '../../../src/source/manifest.js';
import { SEED, words } from '../../support/fuzz.js';

const PER_INPUT_MS = 2000;

const word = words(20, /^[a-z0-9-]{1,70}$/, ['&a', '!!js/function']);
const duration = fc.oneof(
  fc.constantFrom('0s', '1s', '24h', '597h', '99999999999999999999h', '5m', '', 'soon', '1e9s'),
  word,
  fc.integer(),
);
const spec = fc.record(
  {
    network: fc.oneof(
      fc.record({ files: fc.array(word, { maxLength: 3 }), args: fc.dictionary(word, word, { maxKeys: 3 }) }),
      fc.record({ inline: fc.dictionary(word, word, { maxKeys: 2 }) }),
      fc.anything(),
    ),
    interval: duration,
    retryInterval: duration,
    builder: fc.oneof(fc.constantFrom('auto', 'nixos', 'mini'), word),
    rollout: fc.oneof(
      fc.record({ maxParallel: fc.oneof(fc.integer(), fc.double(), fc.constant(1e308)) }),
      fc.anything(),
    ),
    suspend: fc.anything(),
  },
  { requiredKeys: [] },
);
const manifest = fc.record(
  {
    apiVersion: fc.oneof(fc.constant('reconix.dev/v1alpha1'), word),
    kind: fc.oneof(fc.constant('NixDeployment'), word),
    metadata: fc.oneof(fc.record({ name: word }), fc.anything()),
    spec: fc.oneof(spec, fc.anything()),
  },
  { requiredKeys: ['kind'] },
);
const laughs = fc.integer({ min: 2, max: 12 }).map((width) => {
  const lines = [`a0: &a0 [${Array(width).fill('"lol"').join(', ')}]`];
  for (let i = 1; i < 12; i++)
    lines.push(
      `a${i}: &a${i} [${Array(width)
        .fill(`*a${i - 1}`)
        .join(', ')}]`,
    );
  return `kind: NixDeployment\n${lines.join('\n')}\n`;
});
const deep = fc
  .tuple(fc.integer({ min: 100, max: 20000 }), fc.constantFrom('[', '{a: ', '- '))
  .map(([depth, open]) =>
    open === '- '
      ? Array.from({ length: Math.min(depth, 2000) }, (_, i) => `${' '.repeat(i)}- `).join('\n') + 'x\n'
      : `kind: NixDeployment\nspec: ${open.repeat(depth)}1${(open === '[' ? ']' : '}').repeat(depth)}\n`,
  );
const yamlText = fc.oneof(
  { weight: 4, arbitrary: manifest.map((m) => stringify(m)) },
  {
    weight: 2,
    arbitrary: fc.array(manifest, { maxLength: 3 }).map((ms) => ms.map((m) => stringify(m)).join('---\n')),
  },
  { weight: 2, arbitrary: fc.anything().map((v) => stringify(v) ?? '') },
  { weight: 2, arbitrary: fc.string({ maxLength: 200 }) },
  { weight: 1, arbitrary: laughs },
  { weight: 1, arbitrary: deep },
  {
    weight: 1,
    arbitrary: fc
      .bigInt()
      .map((n) => `kind: NixDeployment\nspec: { rollout: { maxParallel: ${n}${n}${n} } }\n`),
  },
);

describe('the manifest loader fed 10,000 generated texts', function () {
  this.timeout(600_000);

  it(`ends each in manifests or clear errors, never in a throw or a stall (seed ${SEED})`, () => {
    fc.assert(
      fc.property(yamlText, (text) => {
        const started = Date.now();
        const results = parseManifests(text, 'fuzz.yaml');
        assert.ok(Date.now() - started < PER_INPUT_MS, 'parsed within the per-input deadline');
        for (const r of results) {
          if (r.ok) continue;
          assert.ok(r.error instanceof ReconixError);
          assert.ok(r.error.reason, 'a reason');
          assert.match(r.error.message, /^fuzz\.yaml \(document \d+/);
          assert.doesNotMatch(r.error.message, /undefined|\n\s+at /);
        }
      }),
      { numRuns: 10_000, seed: SEED },
    );
  });
});
