// A resident controller for the scale bench: one `deploy-once.js --resident` process that runs the reconciles of a
// fleet one after the other, over the SSH connections it keeps between them, as `reconix controller` does.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { stillRunning, stopTree } from './proctree.js';

/** How long the process may take to close its connections and end once its stdin is closed. */
const EXIT_WITHIN_MS = 30_000;

export class ResidentController {
  private readonly child: ChildProcess;
  /** Resolves once it has ended (and was reaped): undefined if it exited with 0, else how it ended. */
  private readonly exited: Promise<string | undefined>;
  private waiting: { resolve: () => void; reject: (err: Error) => void } | undefined;
  private exit: string | undefined;

  /** Starts `node ARGS` (deploy-once.js and its options, --resident among them) in `env`; stderr is the bench's. */
  constructor(args: readonly string[], env: NodeJS.ProcessEnv = process.env) {
    this.child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'inherit'], env });
    this.exited = new Promise((resolve) => {
      this.child.once(
        'error',
        (err) => ((this.exit = `could not start: ${err.message}`), this.fail(), resolve(this.exit)),
      );
      this.child.once('exit', (code, signal) => {
        this.exit = signal ? `was killed by ${signal}` : `exited with ${code}`;
        this.fail();
        resolve(code === 0 ? undefined : this.exit);
      });
    });
    // A closed pipe (the process gone) is reported by the exit, not as an unhandled stream error.
    this.child.stdin!.on('error', () => undefined);
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      if (line.trim() !== 'done') return;
      const w = this.waiting;
      this.waiting = undefined;
      w?.resolve();
    });
  }

  /** Undefined if it could not be started (never -1: a signal to -1 would reach every process). */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /** One reconcile: `deploy OUT` sent, resolved when the process says `done` (OUT is written by then). */
  deploy(out: string): Promise<void> {
    if (this.exit !== undefined) return Promise.reject(new Error(`the resident controller ${this.exit}`));
    if (this.waiting) return Promise.reject(new Error('the resident controller is still reconciling'));
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.child.stdin!.write(`deploy ${out}\n`);
    });
  }

  /**
   * Close its stdin and wait for it to end; stopped by PID (with what it started, not the hosts) if it has not
   * ended in 30 s. Returns undefined if it exited with 0, else how it ended.
   */
  async close(): Promise<string | undefined> {
    this.child.stdin!.end();
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((r) => (timer = setTimeout(() => r('late'), EXIT_WITHIN_MS)));
    const ended = await Promise.race([this.exited, late]);
    clearTimeout(timer);
    if (ended !== 'late') return ended;
    await this.stop();
    return `still running ${EXIT_WITHIN_MS / 1000} s after its stdin closed: stopped`;
  }

  /** Stop it now (a signal to the bench), by PID with the Nix processes under it. */
  async stop(): Promise<void> {
    const pid = this.pid;
    if (pid === undefined || (await stillRunning([pid])).length === 0) return;
    await stopTree(pid);
    if ((await stillRunning([pid])).length > 0) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
    await this.exited;
  }

  private fail(): void {
    const w = this.waiting;
    this.waiting = undefined;
    w?.reject(new Error(`the resident controller ${this.exit} before it said done`));
  }
}
