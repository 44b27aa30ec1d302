// Tool output made fit for a status condition: no terminal colours, bounded length.
import { StringDecoder } from 'node:string_decoder';

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*[A-Za-z]/g;

export function stripAnsi(text: string): string {
  return text.replace(ANSI, '');
}

/** The last `lines` lines of `text`, colours stripped. */
export function tailLines(text: string, lines: number): string {
  return stripAnsi(text).trimEnd().split('\n').slice(-lines).join('\n');
}

const MAX_MESSAGE_LINES = 40;

/** Nix's error text, without colours and trimmed to what a status condition can hold. */
export function cleanNixError(stderr: string): string {
  const lines = stripAnsi(stderr).split('\n');
  const start = lines.findIndex((l) => l.startsWith('error:'));
  const kept = (start >= 0 ? lines.slice(start) : lines)
    .map((l) => l.trimEnd())
    .filter((l) => !l.startsWith("(use '--show-trace'"));
  while (kept.length > 0 && kept[kept.length - 1] === '') kept.pop();
  if (kept.length > MAX_MESSAGE_LINES) {
    return [
      ...kept.slice(0, MAX_MESSAGE_LINES - 1),
      `... (${kept.length - MAX_MESSAGE_LINES + 1} more lines)`,
    ].join('\n');
  }
  return kept.join('\n') || 'nix-instantiate failed without a message';
}

/** Calls `line` with each whole line of the chunks pushed (UTF-8, split anywhere); `end` gives the last part. */
export function lineSplitter(line: (text: string) => void): { push(chunk: Buffer): void; end(): void } {
  const decoder = new StringDecoder('utf8');
  let rest = '';
  return {
    push(chunk) {
      const lines = (rest + decoder.write(chunk)).split('\n');
      rest = lines.pop() ?? '';
      for (const l of lines) line(l);
    },
    end() {
      rest += decoder.end();
      if (rest !== '') line(rest);
      rest = '';
    },
  };
}
