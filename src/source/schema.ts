// The NixDeployment schema in a form TypeBox's Value functions can check. The API schema writes string maps
// with Type.Unsafe (to keep the CRD structural), which Value.Errors cannot check; here they become Records.
import { Kind, Type, type TSchema } from '@sinclair/typebox';
import { API_GROUP, API_VERSION, KIND, NixDeploymentSpec } from '../api/deployment.js';

function isStringSchema(s: unknown): boolean {
  return typeof s === 'object' && s !== null && (s as { type?: unknown }).type === 'string';
}

function checkable(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(checkable);
  if (typeof schema !== 'object' || schema === null) return schema;
  const s = schema as Record<string | symbol, unknown>;
  if (s[Kind] === 'Unsafe' && s.type === 'object' && isStringSchema(s.additionalProperties)) {
    return Type.Record(
      Type.String(),
      Type.String(),
      typeof s.description === 'string' ? { description: s.description } : {},
    );
  }
  const copy: Record<string | symbol, unknown> = {};
  for (const key of Reflect.ownKeys(s)) copy[key] = checkable(s[key]);
  return copy;
}

export const DNS_LABEL = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';
export const DURATION_PATTERN = '^([0-9]+(ms|s|m|h))+$';

/** A whole NixDeployment document: envelope and spec. */
export const ManifestSchema = Type.Object(
  {
    apiVersion: Type.Literal(`${API_GROUP}/${API_VERSION}`),
    kind: Type.Literal(KIND),
    metadata: Type.Object(
      {
        name: Type.String({ minLength: 1, maxLength: 63, pattern: DNS_LABEL }),
        namespace: Type.Optional(Type.String({ minLength: 1 })),
        generation: Type.Optional(Type.Integer()),
        labels: Type.Optional(Type.Record(Type.String(), Type.String())),
        annotations: Type.Optional(Type.Record(Type.String(), Type.String())),
      },
      { additionalProperties: true },
    ),
    spec: checkable(NixDeploymentSpec) as TSchema,
    status: Type.Optional(Type.Unknown()),
  },
  { additionalProperties: false },
);
