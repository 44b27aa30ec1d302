// Cloud resource changes the way terraform shows them: a symbol, the resource, the action, changed attributes.
import type { ResourceChange } from '../core/ports.js';

const SYMBOL: Record<ResourceChange['action'], string> = {
  create: '+',
  update: '~',
  replace: '-/+',
  destroy: '-',
  adopt: '<=',
  unchanged: ' ',
};

const WORDS: Record<ResourceChange['action'], string> = {
  create: 'will be created',
  update: 'will be updated in place',
  replace: 'must be replaced',
  destroy: 'will be destroyed',
  adopt: 'will be adopted',
  unchanged: 'unchanged',
};

function value(v: unknown): string {
  if (v === null || v === undefined) return '(none)';
  const text = typeof v === 'string' ? JSON.stringify(v) : JSON.stringify(v);
  return text.length > 200 ? `${text.slice(0, 197)}...` : text;
}

/** Resources with something to do or to say; unchanged ones without a note are left out. */
export function notable(changes: readonly ResourceChange[] | undefined): ResourceChange[] {
  return (changes ?? []).filter((c) => c.action !== 'unchanged' || c.note);
}

export function renderResourceChanges(
  changes: readonly ResourceChange[] | undefined,
  done = false,
): string[] {
  const shown = notable(changes);
  if (shown.length === 0) return [];
  const lines = ['Cloud resources:'];
  for (const c of shown) {
    const words =
      done && !c.note?.includes('not done')
        ? WORDS[c.action].replace('will be', 'was').replace('must be', 'was')
        : WORDS[c.action];
    lines.push(`  ${SYMBOL[c.action].padStart(3)} ${c.resource} ${words}`);
    for (const [attr, [before, after]] of Object.entries(c.attributes ?? {})) {
      lines.push(
        c.action === 'create'
          ? `        ${attr}: ${value(after)}`
          : `        ${attr}: ${value(before)} -> ${value(after)}`,
      );
    }
    if (c.note) lines.push(`        # ${c.note}`);
  }
  const n = (a: ResourceChange['action']) => shown.filter((c) => c.action === a).length;
  lines.push(
    done
      ? `Resources: ${n('create')} created, ${n('update')} updated in place, ${n('replace')} replaced, ` +
          `${n('destroy')} destroyed, ${n('adopt')} adopted.`
      : `Resources: ${n('create')} to create, ${n('update')} to update in place, ${n('replace')} to replace, ` +
          `${n('destroy')} to destroy, ${n('adopt')} to adopt.`,
  );
  return lines;
}

export { planHasChanges } from '../report/exit.js';
