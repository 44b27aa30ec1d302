// The published JSON schemas of --json outputs (docs/schemas/), read from the files and compiled with a standard
// validator, so that tests check real outputs against what users are given.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { schemaFile, type OutputCommand } from '../../src/api/output.js';
import { REPO_ROOT } from './workspace.js';

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

/** Parse a command's stdout and fail with every violation when it does not follow the published schema. */
export function assertConforms(command: OutputCommand, stdout: string): unknown {
  const doc = JSON.parse(stdout) as unknown;
  const errors = schemaErrors(command, doc);
  if (errors.length > 0)
    throw new Error(
      `${command} --json does not follow ${schemaFile(command)}:\n${errors.join('\n')}\n${stdout}`,
    );
  return doc;
}
