// The NixDeployment CRD, generated from the TypeBox schema in deployment.ts: the same source as the TypeScript
// types and the controller's validation. `npm run gen:crd` writes it to crds/; a test fails when that file is stale.
import { stringify } from 'yaml';
import {
  API_GROUP,
  API_VERSION,
  KIND,
  MAX_LISTED_MACHINES,
  NixDeploymentSpec,
  NixDeploymentStatus,
} from './deployment.js';

export const PLURAL = 'nixdeployments';
export const SINGULAR = 'nixdeployment';
export const SHORT_NAME = 'nixd';
export const CRD_NAME = `${PLURAL}.${API_GROUP}`;
export const CRD_FILE = `crds/${API_GROUP}_${PLURAL}.yaml`;

/** Object names are DNS labels: they name local hosts, state objects and cloud tags. */
export const NAME_PATTERN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';
export const NAME_MAX_LENGTH = 63;

type Json = Record<string, unknown>;

// Keywords a structural schema may carry as they are. Anything else must be translated below or is refused, so
// that a new construct in deployment.ts cannot silently produce a CRD the API server rejects or misreads.
const KEPT = new Set([
  'type',
  'description',
  'properties',
  'required',
  'items',
  'pattern',
  'minLength',
  'maxLength',
  'minimum',
  'maximum',
  'minItems',
  'maxItems',
  'enum',
  'format',
  'default',
  'additionalProperties',
  'x-kubernetes-validations',
  'x-kubernetes-list-type',
  'x-kubernetes-list-map-keys',
]);

/** A TypeBox schema as a structural OpenAPI v3 schema (no symbols, no anyOf of literals, no `false` maps). */
export function toStructural(schema: unknown, at = '$'): Json {
  if (typeof schema !== 'object' || schema === null) throw new Error(`${at}: not a schema`);
  const s = schema as Json;
  // A union of literals of one type is an enum.
  if (Array.isArray(s.anyOf)) {
    const options = s.anyOf as Json[];
    const type = options[0]?.type;
    if (!options.every((o) => 'const' in o && o.type === type)) {
      throw new Error(`${at}: only unions of literals of one type have a structural form`);
    }
    const { anyOf: _drop, ...rest } = s;
    return toStructural({ ...rest, type, enum: options.map((o) => o.const) }, at);
  }
  if ('const' in s) {
    const { const: value, ...rest } = s;
    return toStructural({ ...rest, enum: [value] }, at);
  }
  const out: Json = {};
  for (const [key, value] of Object.entries(s)) {
    if (!KEPT.has(key)) throw new Error(`${at}: keyword ${key} has no structural form`);
    if (key === 'properties') {
      out.properties = Object.fromEntries(
        Object.entries(value as Json).map(([k, v]) => [k, toStructural(v, `${at}.${k}`)]),
      );
    } else if (key === 'items') {
      out.items = toStructural(value, `${at}[]`);
    } else if (key === 'additionalProperties') {
      // `false` is what the API server does anyway (pruning, and kubectl's strict field validation names the
      // unknown field); structural schemas may not say it.
      if (value !== false) out.additionalProperties = toStructural(value, `${at}.*`);
    } else {
      out[key] = value;
    }
  }
  if (typeof out.type !== 'string') throw new Error(`${at}: a structural schema needs a type`);
  return out;
}

function at(schema: Json, path: string[]): Json {
  let node = schema;
  for (const p of path) {
    const next = p === '[]' ? node.items : (node.properties as Json | undefined)?.[p];
    if (typeof next !== 'object' || next === null) throw new Error(`no schema at ${path.join('.')}`);
    node = next as Json;
  }
  return node;
}

function specSchema(): Json {
  const spec = toStructural(NixDeploymentSpec, 'spec');
  spec.description = 'What the deployment should be: the Nix network and how to roll it out.';
  // The schema says each field is optional; the API server can also check that one of them is given.
  at(spec, ['network'])['x-kubernetes-validations'] = [
    {
      rule: 'has(self.files) || has(self.inline)',
      message: 'spec.network needs files or inline network files',
    },
  ];
  return spec;
}

function statusSchema(): Json {
  const status = toStructural(NixDeploymentStatus, 'status');
  status.description = 'What the controller last saw and did. Written by the controller only.';
  const conditions = at(status, ['conditions']);
  // Conditions are a map keyed by type, so that two writers patch different conditions without conflict.
  conditions['x-kubernetes-list-type'] = 'map';
  conditions['x-kubernetes-list-map-keys'] = ['type'];
  at(status, ['conditions', '[]', 'lastTransitionTime']).format = 'date-time';
  at(status, ['conditions', '[]', 'message']).maxLength = 32768;
  at(status, ['machineStates']).maxItems = MAX_LISTED_MACHINES;
  return status;
}

const condition = (type: string, field: string) => `.status.conditions[?(@.type=="${type}")].${field}`;

/** The CustomResourceDefinition object. */
export function nixDeploymentCrd(): Json {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: CRD_NAME,
      labels: { 'app.kubernetes.io/name': 'reconix', 'app.kubernetes.io/part-of': 'reconix' },
    },
    spec: {
      group: API_GROUP,
      names: {
        kind: KIND,
        listKind: `${KIND}List`,
        plural: PLURAL,
        singular: SINGULAR,
        shortNames: [SHORT_NAME],
        categories: ['reconix'],
      },
      scope: 'Namespaced',
      versions: [
        {
          name: API_VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: [
            { name: 'Ready', type: 'string', jsonPath: condition('Ready', 'status') },
            { name: 'Drifted', type: 'string', jsonPath: condition('Drifted', 'status') },
            { name: 'Machines', type: 'integer', jsonPath: '.status.machines.total' },
            { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
            { name: 'Reason', type: 'string', jsonPath: condition('Ready', 'reason') },
            { name: 'Message', type: 'string', jsonPath: condition('Ready', 'message'), priority: 1 },
          ],
          schema: {
            openAPIV3Schema: {
              type: 'object',
              description: 'A fleet of NixOS machines described by Nix network files, kept as they say.',
              required: ['spec'],
              properties: {
                apiVersion: { type: 'string' },
                kind: { type: 'string' },
                metadata: {
                  type: 'object',
                  properties: {
                    name: { type: 'string', maxLength: NAME_MAX_LENGTH, pattern: NAME_PATTERN },
                  },
                },
                spec: specSchema(),
                status: statusSchema(),
              },
            },
          },
        },
      ],
    },
  };
}

/** The CRD as the YAML file committed in crds/. */
export function nixDeploymentCrdYaml(): string {
  const header = `# Generated from src/api/deployment.ts by \`npm run gen:crd\`. Do not edit.\n`;
  return header + stringify(nixDeploymentCrd(), { lineWidth: 0 });
}
