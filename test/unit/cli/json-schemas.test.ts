// The schemas of --json outputs published in docs/schemas/ are the ones src/api/output.ts defines.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { OUTPUT_SCHEMAS, outputSchemaJson, schemaFile, type OutputCommand } from '../../../src/api/output.js';
import type { Static } from '@sinclair/typebox';
import {
  EVENTS_SCHEMA_FILE,
  eventsSchemaJson,
  ProgressEventSchema,
} from '../../../src/api/progress-output.js';
import type { ProgressEvent } from '../../../src/core/progress.js';
import { assertEvent, schemaErrors } from '../../support/schemas.js';
import { REPO_ROOT } from '../../support/workspace.js';

// Each side must be assignable to the other (the wave's machines aside, readonly in the type): the schema says
// what the type says, no more, no less.
type Writable<E> = E extends { machines: readonly string[] }
  ? Omit<E, 'machines'> & { machines: string[] }
  : E;
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const same: Same<Static<typeof ProgressEventSchema>, Writable<ProgressEvent>> = true;
void same;

const COMMANDS = Object.keys(OUTPUT_SCHEMAS) as OutputCommand[];

describe('the published JSON output schemas', () => {
  for (const command of COMMANDS) {
    it(`${schemaFile(command)} is what the schema generates (run \`npm run gen:schemas\` when this fails)`, () => {
      assert.equal(readFileSync(join(REPO_ROOT, schemaFile(command)), 'utf8'), outputSchemaJson(command));
    });
  }

  it(`${EVENTS_SCHEMA_FILE} is what the events schema generates`, () => {
    assert.equal(readFileSync(join(REPO_ROOT, EVENTS_SCHEMA_FILE), 'utf8'), eventsSchemaJson());
  });

  it('are each described in docs/json-output.md', () => {
    const doc = readFileSync(join(REPO_ROOT, 'docs/json-output.md'), 'utf8');
    for (const command of COMMANDS) assert.ok(doc.includes(schemaFile(command).slice(5)), command);
    assert.ok(doc.includes(EVENTS_SCHEMA_FILE.slice(5)), 'events');
  });

  it('take one deployment or an array of them, and refuse fields they do not document', () => {
    const one = { deployment: 'd', exitCode: 0, machines: [] };
    assert.deepEqual(schemaErrors('check', one), []);
    assert.deepEqual(schemaErrors('check', [one, one]), []);
    assert.notDeepEqual(schemaErrors('check', { ...one, extra: 1 }), []);
  });

  it('events follow their schema, and an event with a stage it does not know is refused', () => {
    const at = '2026-12-01T12:00:00.000Z';
    assertEvent(
      JSON.stringify({
        type: 'machine',
        deployment: 'd',
        machine: 'web-1',
        stage: 'copying',
        at,
        copied: { bytes: 1, total: 2 },
      }),
    );
    assertEvent(
      JSON.stringify({ type: 'deployment', deployment: 'd', stage: 'failed', at, reason: 'BuildFailed' }),
    );
    assert.throws(() =>
      assertEvent(JSON.stringify({ type: 'machine', deployment: 'd', machine: 'm', stage: 'napping', at })),
    );
    assert.throws(() =>
      assertEvent(
        JSON.stringify({ type: 'output', deployment: 'd', stream: 'build', line: 'x', at, key: 'k' }),
      ),
    );
  });
});
