// Tool output made fit for a status condition: no terminal colours, bounded length.

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*[A-Za-z]/g;

export function stripAnsi(text: string): string {
  return text.replace(ANSI, '');
}

/** The last `lines` lines of `text`, colours stripped. */
export function tailLines(text: string, lines: number): string {
  return stripAnsi(text).trimEnd().split('\n').slice(-lines).join('\n');
}
