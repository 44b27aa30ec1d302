// Counting builds from what nix-store --realise prints on stderr: "these 3 derivations will be built:" (or "this
// derivation will be built:") with the list, then "building '/nix/store/...drv'..." as each one starts.
import type { BuildWatch } from '../core/ports.js';

const WILL_BUILD = /^(?:these (\d+) derivations|this derivation) will be built:$/;
const LISTED = /^\s+\/\S+\.drv$/;
const BUILDING = /^building '\/\S+\.drv'/;

export class BuildCounter {
  private rest = '';
  private total = 0;
  private listing = false;
  private started = 0;

  constructor(private readonly watch: BuildWatch) {}

  push(chunk: Buffer): void {
    const lines = (this.rest + chunk.toString('utf8')).split('\n');
    this.rest = lines.pop() ?? '';
    for (const line of lines) this.line(line);
  }

  /** The process ended: a build that succeeded built everything it listed. */
  end(ok: boolean): void {
    if (this.rest) this.line(this.rest);
    this.rest = '';
    if (ok && this.total > 0) this.watch.built?.(this.total, this.total);
  }

  private line(line: string): void {
    this.watch.line?.(line);
    const header = WILL_BUILD.exec(line);
    if (header) {
      this.total = header[1] ? Number(header[1]) : 1;
      this.listing = true;
      this.watch.built?.(0, this.total);
      return;
    }
    if (this.listing && LISTED.test(line)) return;
    this.listing = false;
    if (BUILDING.test(line) && this.total > 0) {
      // Nix says when a build starts, not when it ends: the one before the newest is taken as done.
      this.started++;
      this.watch.built?.(Math.min(this.started - 1, this.total), this.total);
    }
  }
}
