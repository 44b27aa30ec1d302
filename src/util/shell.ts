// SSH always runs a remote shell, so every remote command is built from words quoted here.

/** Quote one word for a POSIX shell. */
export function shellQuote(word: string): string {
  if (word !== '' && /^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** Join an argument array into one safely quoted command line. */
export function shellJoin(argv: readonly string[]): string {
  return argv.map(shellQuote).join(' ');
}

const STORE_PATH = /^\/nix\/store\/[0-9a-df-np-sv-z]{32}-[A-Za-z0-9+\-._?=]+$/;

/** Whether `p` is a plain Nix store path (no shell or path tricks possible). */
export function isStorePath(p: string): boolean {
  return STORE_PATH.test(p) && !p.includes('/..');
}

export function assertStorePath(p: string): string {
  if (!isStorePath(p)) throw new Error(`not a Nix store path: ${JSON.stringify(p)}`);
  return p;
}
