// Loading NixDeployment manifests from YAML files: every document is checked against the API schema, and a
// bad manifest is reported on its own without stopping the others.
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { TSchema } from '@sinclair/typebox';
import { Value, type ValueError } from '@sinclair/typebox/value';
import { parseAllDocuments } from 'yaml';
import { Reason } from '../api/conditions.js';
import { ReconixError } from '../core/errors.js';
import { KIND, type NixDeploymentManifest, type NixDeploymentSpec } from '../api/deployment.js';
import { DURATION_PATTERN, ManifestSchema } from './schema.js';
import { durationProblem, SPEC_DURATIONS } from '../util/duration.js';
import { conditionProblem } from '../api/condition.js';
import { memoryBudgetProblem, SIZE_PATTERN } from '../util/size.js';

export { parseDuration } from '../util/duration.js';
export { resolveNetworkSource } from './source.js';

/** One NixDeployment document of a file: valid, or the reason it is not. */
export type ManifestResult =
  | { ok: true; manifest: NixDeploymentManifest; path: string; document: number }
  | { ok: false; error: ReconixError; path: string; document: number };

/** "/spec/network/files/0" -> "spec.network.files[0]" */
function dottedPath(pointer: string): string {
  const parts = pointer
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  return parts.reduce((acc, p) => (/^[0-9]+$/.test(p) ? `${acc}[${p}]` : acc ? `${acc}.${p}` : p), '');
}

function describe(error: ValueError): string {
  const schema = error.schema as TSchema & { anyOf?: { const?: unknown }[]; pattern?: string };
  if (schema.anyOf?.every((s) => s.const !== undefined)) {
    return `Expected one of ${schema.anyOf.map((s) => JSON.stringify(s.const)).join(', ')}`;
  }
  if (schema.pattern === DURATION_PATTERN) return 'Expected a duration such as 5m, 1h30m, 10s or 500ms';
  if (schema.pattern === SIZE_PATTERN) return 'Expected a size such as 512M, 1536M or 2G';
  return error.message;
}

/** Check one parsed document; `where` names it in messages ("webapp.yaml (document 1)"). */
export function validateManifest(doc: unknown, where: string): NixDeploymentManifest {
  const seen = new Set<string>();
  const problems: string[] = [];
  for (const error of Value.Errors(ManifestSchema, doc)) {
    const path = dottedPath(error.path) || '(document)';
    if (seen.has(path)) continue;
    seen.add(path);
    problems.push(`${path}: ${describe(error)}`);
  }
  const spec = (doc as { spec?: NixDeploymentSpec } | undefined)?.spec;
  if (
    problems.length === 0 &&
    spec &&
    !spec.network.files?.length &&
    !Object.keys(spec.network.inline ?? {}).length
  ) {
    problems.push('spec.network: Expected files or inline network files');
  }
  if (problems.length === 0 && spec) {
    for (const field of ['interval', 'retryInterval'] as const) {
      const text = spec[field];
      const problem =
        text === undefined ? undefined : durationProblem(`spec.${field}`, text, SPEC_DURATIONS[field]);
      if (problem) problems.push(problem);
    }
    for (const field of ['confirmTimeout', 'activationTimeout'] as const) {
      const text = spec.rollout?.[field];
      const problem =
        text === undefined
          ? undefined
          : durationProblem(`spec.rollout.${field}`, text, SPEC_DURATIONS[field]);
      if (problem) problems.push(problem);
    }
    const budget = spec.evaluation?.memoryBudget;
    const budgetProblem =
      budget === undefined ? undefined : memoryBudgetProblem('spec.evaluation.memoryBudget', budget);
    if (budgetProblem) problems.push(budgetProblem);
    // An analysis gate's condition is checked here, where the mistake is made, not when its wave bakes.
    (spec.rollout?.strategy?.waves ?? []).forEach((wave, i) => {
      const text = wave.analysis?.successCondition;
      const problem =
        text === undefined
          ? undefined
          : conditionProblem(`spec.rollout.strategy.waves[${i}].analysis.successCondition`, text);
      if (problem) problems.push(problem);
    });
  }
  if (problems.length > 0) {
    throw new ReconixError(Reason.InvalidManifest, `${where}: ${problems.join('; ')}`, { reaction: 'stall' });
  }
  return doc as NixDeploymentManifest;
}

function isNixDeployment(doc: unknown): boolean {
  return typeof doc === 'object' && doc !== null && (doc as { kind?: unknown }).kind === KIND;
}

function label(path: string, index: number, doc: unknown): string {
  const name = (doc as { metadata?: { name?: unknown } } | null)?.metadata?.name;
  const named = typeof name === 'string' ? `, ${KIND}/${name}` : '';
  return `${path} (document ${index + 1}${named})`;
}

/** Aliases a document may resolve: enough for any real manifest, far too few for a billion laughs. */
export const MAX_ALIAS_COUNT = 100;

function invalid(path: string, index: number, what: string, cause?: unknown): ManifestResult {
  const error = new ReconixError(Reason.InvalidManifest, `${path} (document ${index + 1}): ${what}`, {
    reaction: 'stall',
    ...(cause === undefined ? {} : { cause }),
  });
  return { ok: false, error, path, document: index };
}

/** The NixDeployment documents of one YAML text; other kinds are ignored. */
export function parseManifests(text: string, path: string): ManifestResult[] {
  let documents;
  try {
    documents = parseAllDocuments(text);
  } catch (err) {
    // The parser recurses: nesting deep enough overflows the stack.
    return [invalid(path, 0, `cannot parse: ${(err as Error).message}`, err)];
  }
  const results: ManifestResult[] = [];
  (Array.isArray(documents) ? documents : [documents]).forEach((document, index) => {
    if (document.errors.length > 0) {
      const first = document.errors[0]?.message.split('\n')[0] ?? 'invalid YAML';
      results.push(invalid(path, index, first, document.errors[0]));
      return;
    }
    let doc: unknown;
    try {
      doc = document.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    } catch (err) {
      results.push(invalid(path, index, (err as Error).message, err));
      return;
    }
    if (!isNixDeployment(doc)) return;
    try {
      results.push({
        ok: true,
        manifest: validateManifest(doc, label(path, index, doc)),
        path,
        document: index,
      });
    } catch (err) {
      const error =
        err instanceof ReconixError
          ? err
          : new ReconixError(Reason.InvalidManifest, `${label(path, index, doc)}: ${String(err)}`, {
              cause: err,
            });
      results.push({ ok: false, error, path, document: index });
    }
  });
  return results;
}

async function loadFile(path: string): Promise<ManifestResult[]> {
  try {
    return parseManifests(await readFile(path, 'utf8'), path);
  } catch (cause) {
    const error = new ReconixError(
      Reason.InvalidManifest,
      `${path}: cannot read: ${(cause as Error).message}`,
      {
        cause,
      },
    );
    return [{ ok: false, error, path, document: 0 }];
  }
}

/** Manifests of a file, or of every *.yaml / *.yml file directly in a directory (in name order). */
export async function loadManifests(fileOrDir: string): Promise<ManifestResult[]> {
  if (!(await stat(fileOrDir)).isDirectory()) return loadFile(fileOrDir);
  const names = (await readdir(fileOrDir, { withFileTypes: true }))
    .filter((e) => e.isFile() && /\.ya?ml$/.test(e.name))
    .map((e) => e.name)
    .sort();
  const perFile = await Promise.all(names.map((name) => loadFile(join(fileOrDir, name))));
  return perFile.flat();
}
