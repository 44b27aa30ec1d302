#!/usr/bin/env node
// Writes docs/schemas/*.schema.json, the published shapes of --json outputs, from src/api/output.ts
// (run `npm run gen:schemas`, which builds first).
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { OUTPUT_SCHEMAS, outputSchemaJson, schemaFile } = await import(join(root, 'dist/src/api/output.js'));
for (const command of Object.keys(OUTPUT_SCHEMAS)) {
  const file = join(root, schemaFile(command));
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, outputSchemaJson(command));
  console.log(`wrote ${schemaFile(command)}`);
}
const { EVENTS_SCHEMA_FILE, eventsSchemaJson } = await import(join(root, 'dist/src/api/progress-output.js'));
writeFileSync(join(root, EVENTS_SCHEMA_FILE), eventsSchemaJson());
console.log(`wrote ${EVENTS_SCHEMA_FILE}`);
