// The successCondition of an analysis gate: `result` compared with numbers, joined by && and || with parentheses.
// A parser of its own, so that a manifest's text is never evaluated as code.
//
//   condition  := and ('||' and)*
//   and        := primary ('&&' primary)*
//   primary    := '(' condition ')' | operand op operand      (one operand is `result`, the other a number)
//   op         := '<' | '<=' | '>' | '>=' | '==' | '!='
//   operand    := 'result' | number                           (e.g. 0.01, -3, 1e-3)

export type Comparison = '<' | '<=' | '>' | '>=' | '==' | '!=';
export type Operand = { kind: 'result' } | { kind: 'number'; value: number };

export type Condition =
  | { kind: 'compare'; left: Operand; op: Comparison; right: Operand }
  | { kind: 'and' | 'or'; left: Condition; right: Condition };

/** A successCondition that does not parse; the message names the column (1-based) where it goes wrong. */
export class ConditionError extends Error {
  constructor(
    readonly text: string,
    readonly column: number,
    problem: string,
  ) {
    super(`invalid successCondition ${JSON.stringify(text)} at column ${column}: ${problem}`);
    this.name = 'ConditionError';
  }
}

type Token =
  | { kind: 'result' | '(' | ')' | '&&' | '||' | 'end'; at: number }
  | { kind: 'op'; op: Comparison; at: number }
  | { kind: 'number'; value: number; at: number };

const NUMBER = /^-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?/;
const OPERATORS: readonly Comparison[] = ['<=', '>=', '==', '!=', '<', '>'];

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const rest = text.slice(i);
    const space = /^\s+/.exec(rest);
    if (space) {
      i += space[0].length;
      continue;
    }
    const word = /^[A-Za-z_][A-Za-z0-9_]*/.exec(rest);
    if (word) {
      if (word[0] !== 'result') {
        throw new ConditionError(text, i + 1, `unknown name "${word[0]}": only result and numbers compare`);
      }
      tokens.push({ kind: 'result', at: i });
      i += word[0].length;
      continue;
    }
    const number = NUMBER.exec(rest);
    if (number) {
      tokens.push({ kind: 'number', value: Number(number[0]), at: i });
      i += number[0].length;
      continue;
    }
    const op = OPERATORS.find((o) => rest.startsWith(o));
    if (op) {
      tokens.push({ kind: 'op', op, at: i });
      i += op.length;
      continue;
    }
    const punct = (['&&', '||', '(', ')'] as const).find((p) => rest.startsWith(p));
    if (punct) {
      tokens.push({ kind: punct, at: i });
      i += punct.length;
      continue;
    }
    const hint =
      rest.startsWith('=<') || rest.startsWith('=>')
        ? ` (write ${rest[1]}=)`
        : rest[0] === '='
          ? ' (equality is ==)'
          : rest[0] === '&' || rest[0] === '|'
            ? ' (use && or ||)'
            : '';
    throw new ConditionError(text, i + 1, `unexpected ${JSON.stringify(rest[0])}${hint}`);
  }
  tokens.push({ kind: 'end', at: text.length });
  return tokens;
}

function describe(t: Token): string {
  if (t.kind === 'end') return 'the end';
  if (t.kind === 'op') return `"${t.op}"`;
  if (t.kind === 'number') return `the number ${t.value}`;
  return `"${t.kind}"`;
}

/** The parsed condition; throws a ConditionError naming where the text is wrong. */
export function parseCondition(text: string): Condition {
  const tokens = tokenize(text);
  let pos = 0;
  const peek = (): Token => tokens[pos]!;
  const fail = (t: Token, expected: string): never => {
    throw new ConditionError(text, t.at + 1, `expected ${expected}, found ${describe(t)}`);
  };

  const operand = (): Operand => {
    const t = peek();
    if (t.kind === 'result') {
      pos++;
      return { kind: 'result' };
    }
    if (t.kind === 'number') {
      pos++;
      return { kind: 'number', value: t.value };
    }
    return fail(t, 'result, a number or "("');
  };

  const primary = (): Condition => {
    const open = peek();
    if (open.kind === '(') {
      pos++;
      const inner = disjunction();
      if (peek().kind !== ')') fail(peek(), `"&&", "||" or ")" closing the "(" at column ${open.at + 1}`);
      pos++;
      return inner;
    }
    const left = operand();
    const opToken = peek();
    if (opToken.kind !== 'op') return fail(opToken, 'a comparison (<, <=, >, >=, ==, !=)');
    pos++;
    const right = operand();
    if (left.kind === right.kind) {
      const what = left.kind === 'result' ? 'result with itself' : 'two numbers';
      throw new ConditionError(text, open.at + 1, `compares ${what}: compare result with a number`);
    }
    return { kind: 'compare', left, op: opToken.op, right };
  };

  const conjunction = (): Condition => {
    let left = primary();
    while (peek().kind === '&&') {
      pos++;
      left = { kind: 'and', left, right: primary() };
    }
    return left;
  };

  const disjunction = (): Condition => {
    let left = conjunction();
    while (peek().kind === '||') {
      pos++;
      left = { kind: 'or', left, right: conjunction() };
    }
    return left;
  };

  if (text.trim() === '') throw new ConditionError(text, 1, 'the condition is empty');
  const condition = disjunction();
  if (peek().kind !== 'end') fail(peek(), '"&&", "||" or the end');
  return condition;
}

/** Whether `result` meets the condition. NaN meets only "!=", as in IEEE 754 comparisons. */
export function evaluateCondition(condition: Condition, result: number): boolean {
  switch (condition.kind) {
    case 'and':
      return evaluateCondition(condition.left, result) && evaluateCondition(condition.right, result);
    case 'or':
      return evaluateCondition(condition.left, result) || evaluateCondition(condition.right, result);
    case 'compare': {
      const value = (o: Operand): number => (o.kind === 'result' ? result : o.value);
      const [a, b] = [value(condition.left), value(condition.right)];
      switch (condition.op) {
        case '<':
          return a < b;
        case '<=':
          return a <= b;
        case '>':
          return a > b;
        case '>=':
          return a >= b;
        case '==':
          return a === b;
        case '!=':
          return a !== b;
      }
    }
  }
}

/** Why `text` is not a successCondition (its field named in the message), or undefined when it is one. */
export function conditionProblem(field: string, text: string): string | undefined {
  try {
    parseCondition(text);
    return undefined;
  } catch (err) {
    return `${field}: ${(err as Error).message}`;
  }
}
