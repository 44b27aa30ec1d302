#!/usr/bin/env node
// Writes the NixDeployment CRD generated from the API schema (run `npm run gen:crd`, which builds first).
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { CRD_FILE, nixDeploymentCrdYaml } = await import(join(root, 'dist/src/api/crd.js'));
writeFileSync(join(root, CRD_FILE), nixDeploymentCrdYaml());
console.log(`wrote ${CRD_FILE}`);
