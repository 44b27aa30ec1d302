// The published JSON schemas of --json outputs (docs/schemas/), read from the files and compiled with a standard
// validator, so that tests check real outputs against what users are given.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { schemaFile, type OutputCommand } from '../../src/api/output.js';
import { REPO_ROOT } from './workspace.js';
import { EVENTS_SCHEMA_FILE } from '../../src/api/progress-output.js';
import type { ProgressEvent } from '../../src/core/progress.js';

// ajv-formats is CommonJS: its default export arrives as the module object under native ESM.
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;

export function publishedSchema(command: OutputCommand): Record<string, unknown> {
  return JSON.parse(readFileSync(join(REPO_ROOT, schemaFile(command)), 'utf8')) as Record<string, unknown>;
}

const validators = new Map<OutputCommand, (doc: unknown) => string[]>();

/** Validation errors of `doc` against the command's published schema; empty when it conforms. */
export function schemaErrors(command: OutputCommand, doc: unknown): string[] {
  let validate = validators.get(command);
  if (!validate) {
    const ajv = new Ajv2020({ allErrors: true, strict: true });
    addFormats(ajv);
    const compiled = ajv.compile(publishedSchema(command));
    validate = (d) =>
      compiled(d) ? [] : (compiled.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''}`);
    validators.set(command, validate);
  }
  return validate(doc);
}

/**
 * Parse a command's stdout and fail with every violation when it does not follow the published schema. deploy's
 * document is its last line, after the progress events (each checked against the events schema).
 */
export function assertConforms(command: OutputCommand, stdout: string): unknown {
  const lines = stdout.split('\n').filter((l) => l.trim() !== '');
  if (command === 'deploy') for (const l of lines.slice(0, -1)) assertEvent(l);
  const doc = JSON.parse(command === 'deploy' ? (lines.at(-1) ?? '') : stdout) as unknown;
  const errors = schemaErrors(command, doc);
  if (errors.length > 0)
    throw new Error(
      `${command} --json does not follow ${schemaFile(command)}:\n${errors.join('\n')}\n${stdout}`,
    );
  return doc;
}

let validateEvent: ((doc: unknown) => boolean) & {
  errors?: { instancePath: string; message?: string }[] | null;
};

/** One line of deploy --json's events, parsed and checked against docs/schemas/events.schema.json. */
export function assertEvent(line: string): ProgressEvent {
  if (!validateEvent) {
    const ajv = new Ajv2020({ allErrors: true, strict: true });
    addFormats(ajv);
    validateEvent = ajv.compile(
      JSON.parse(readFileSync(join(REPO_ROOT, EVENTS_SCHEMA_FILE), 'utf8')) as Record<string, unknown>,
    );
  }
  const event = JSON.parse(line) as unknown;
  if (!validateEvent(event)) {
    const errors = (validateEvent.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''}`);
    throw new Error(`an event does not follow ${EVENTS_SCHEMA_FILE}:\n${errors.join('\n')}\n${line}`);
  }
  return event as ProgressEvent;
}
