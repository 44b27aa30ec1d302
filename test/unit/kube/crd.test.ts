import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Type } from '@sinclair/typebox';
import {
  CRD_FILE,
  NAME_PATTERN,
  nixDeploymentCrd,
  nixDeploymentCrdYaml,
  toStructural,
} from '../../../src/api/crd.js';
import { DNS_LABEL } from '../../../src/source/schema.js';
import { repoRoot } from '../../support/repo.js';

describe('the NixDeployment CRD', () => {
  it('committed in crds/ is what the schema generates (run `npm run gen:crd` when this fails)', () => {
    const committed = readFileSync(join(repoRoot(), CRD_FILE), 'utf8');
    assert.equal(committed, nixDeploymentCrdYaml());
  });

  it('restricts names as the manifest validation does', () => {
    assert.equal(NAME_PATTERN, DNS_LABEL);
  });

  it('has a status subresource, a short name and the printer columns kubectl get shows', () => {
    const crd = nixDeploymentCrd() as {
      spec: {
        names: { shortNames: string[] };
        versions: { subresources: unknown; additionalPrinterColumns: { name: string }[] }[];
      };
    };
    const v = crd.spec.versions[0]!;
    assert.deepEqual(v.subresources, { status: {} });
    assert.deepEqual(crd.spec.names.shortNames, ['nixd']);
    assert.deepEqual(
      v.additionalPrinterColumns.map((c) => c.name),
      ['Ready', 'Drifted', 'Machines', 'Age', 'Reason', 'Message'],
    );
  });

  it('turns unions of literals into enums and drops additionalProperties: false', () => {
    const s = Type.Object(
      { mode: Type.Union([Type.Literal('a'), Type.Literal('b')]), n: Type.Optional(Type.Integer()) },
      { additionalProperties: false },
    );
    assert.deepEqual(toStructural(s), {
      type: 'object',
      required: ['mode'],
      properties: { mode: { type: 'string', enum: ['a', 'b'] }, n: { type: 'integer' } },
    });
  });

  it('refuses constructs that have no structural form, naming where they are', () => {
    assert.throws(
      () => toStructural(Type.Object({ x: Type.Union([Type.String(), Type.Number()]) })),
      /\$\.x: only unions of literals/,
    );
    assert.throws(
      () => toStructural(Type.Object({ m: Type.Record(Type.String(), Type.String()) })),
      /\$\.m: keyword patternProperties/,
    );
  });
});
