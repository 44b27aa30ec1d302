// A real pseudo-terminal for tests of what a command draws on a terminal: the command runs in a tmux pane of its
// own server (its own socket), whose screen the test captures while the command runs.
import { run } from '../../src/util/exec.js';
import { eventually } from './workspace.js';

export interface Terminal {
  /** The screen now, one line per row. */
  screen(): Promise<string>;
  /** Stop the pane's shell by its PID, then the tmux server of this terminal. */
  close(): Promise<void>;
}

/** The exit code the pane prints after the command, as `EXIT=<code>`. */
export const EXIT = /EXIT=(\d+)/;

/** Run argv in a new terminal of `columns` x `rows`; once it ends, the pane shows `EXIT=<code>` below it. */
export async function openTerminal(argv: readonly string[], columns = 120, rows = 40): Promise<Terminal> {
  const socket = `reconix-terminal-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const tmux = (...a: string[]) => run('tmux', ['-L', socket, ...a]);
  const command = argv.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  await tmux(
    'new-session',
    '-d',
    '-x',
    String(columns),
    '-y',
    String(rows),
    '-s',
    'main',
    `${command}; echo "EXIT=$?"; sleep 600`,
  );
  const panePid = Number((await tmux('display-message', '-p', '-t', 'main', '#{pane_pid}')).stdout.trim());
  return {
    screen: async () => (await tmux('capture-pane', '-p', '-t', 'main')).stdout,
    close: async () => {
      try {
        process.kill(panePid, 'SIGTERM');
      } catch {
        // the pane's shell has gone already
      }
      await tmux('kill-server').catch(() => undefined);
    },
  };
}

export interface WatchOptions {
  /** What is awaited, for the error when it does not come in time. */
  what: string;
  timeoutMs: number;
  columns?: number;
  rows?: number;
}

/**
 * Run argv in a new terminal until it ends, handing `look` every screen captured on the way (every 50 ms, so that
 * short-lived states are seen), and close the terminal whatever happens. Returns the last screen: the one that
 * shows `EXIT=<code>`.
 */
export async function watchTerminal(
  argv: readonly string[],
  opts: WatchOptions,
  look: (screen: string) => void,
): Promise<string> {
  const terminal = await openTerminal(argv, opts.columns, opts.rows);
  let screen = '';
  try {
    await eventually(
      opts.what,
      async () => {
        screen = await terminal.screen();
        look(screen);
        return EXIT.test(screen);
      },
      opts.timeoutMs,
      50,
    );
  } finally {
    await terminal.close();
  }
  return screen;
}
