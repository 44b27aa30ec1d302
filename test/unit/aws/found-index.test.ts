// Matching records and specs to the objects found goes through an index (K resources against K objects must not
// be K times K); it must pick the very object a search of the listing, in order, picks.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { ResourceRecord } from '../../../src/core/model.js';
import type { Found } from '../../../src/providers/aws/kinds/kind.js';
import { FoundIndex, matchRecord } from '../../../src/providers/aws/registry.js';

/** The search the index stands for, as a scan of the list. */
function scan(key: string, region: string, rec: ResourceRecord | undefined, found: readonly Found[]) {
  const inRegion = found.filter((f) => f.facts.region === region);
  const hit =
    (rec?.id && inRegion.find((f) => f.id === rec.id && f.logical === key)) ||
    (rec?.token && inRegion.find((f) => f.token === rec.token)) ||
    inRegion.find((f) => f.logical === key);
  if (hit) return hit;
  const name = rec?.facts.name;
  const cutShort = rec?.token && !rec.id && typeof name === 'string';
  const byName = cutShort ? inRegion.find((f) => f.awsName === name && !f.logical) : undefined;
  return byName && rec?.token ? { ...byName, token: rec.token } : undefined;
}

const pick = <T>(xs: T[]) => fc.constantFrom(...xs);
const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });
const ids = ['sg-1', 'sg-2', 'sg-3'];
const keys = ['ec2SecurityGroups.a', 'ec2SecurityGroups.b'];
const tokens = ['t1', 't2'];
const names = ['a', 'b'];
const regions = ['eu-west-1', 'us-east-1'];

const foundArb: fc.Arbitrary<Found> = fc
  .record({
    id: pick(ids),
    logical: maybe(pick(keys)),
    token: maybe(pick(tokens)),
    awsName: maybe(pick(names)),
    region: pick(regions),
    n: fc.nat(1000),
  })
  .map(({ region, n, logical, token, awsName, ...rest }) => ({
    ...rest,
    ...(logical ? { logical } : {}),
    ...(token ? { token } : {}),
    ...(awsName ? { awsName } : {}),
    attrs: { n },
    facts: { region },
  }));

const recordArb: fc.Arbitrary<ResourceRecord | undefined> = maybe(
  fc
    .record({ id: maybe(pick(ids)), token: maybe(pick(tokens)), name: maybe(pick(names)) })
    .map(({ id, token, name }) => ({
      type: 'ec2SecurityGroups',
      name: 'a',
      ...(id ? { id } : {}),
      ...(token ? { token } : {}),
      facts: { region: 'eu-west-1', ...(name ? { name } : {}) },
    })),
);

describe('matching found objects through an index', () => {
  it('picks the same object as a search of the listing in order, for any listing and record', () => {
    fc.assert(
      fc.property(
        fc.array(foundArb, { maxLength: 12 }),
        recordArb,
        pick(keys),
        pick(regions),
        (found, rec, key, region) => {
          const want = scan(key, region, rec, found);
          assert.deepEqual(matchRecord(key, region, rec, new FoundIndex(found)), want);
          assert.deepEqual(matchRecord(key, region, rec, found), want);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('finds an object by its AWS name in its region only, tagged or not', () => {
    const g = (region: string, logical?: string): Found => ({
      id: `sg-${region}`,
      awsName: 'web',
      ...(logical ? { logical } : {}),
      attrs: {},
      facts: { region },
    });
    const idx = new FoundIndex([g('us-east-1', 'ec2SecurityGroups.x'), g('eu-west-1')]);
    assert.equal(idx.byName('us-east-1', 'web')?.id, 'sg-us-east-1');
    assert.equal(idx.byName('us-east-1', 'web', true), undefined);
    assert.equal(idx.byName('eu-west-1', 'web', true)?.id, 'sg-eu-west-1');
    assert.equal(idx.byName('ap-south-1', 'web'), undefined);
  });
});
