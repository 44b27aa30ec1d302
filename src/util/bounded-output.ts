// Output of a process or a remote command, kept within a fixed size however much it writes: the first half and
// the last half of the budget, with a line saying how much was cut between them.

/** What Reconix keeps of each stream of a remote command, and of a local process's stderr. */
export const DEFAULT_OUTPUT_LIMIT = 1024 * 1024;

export class BoundedOutput {
  private readonly head: Buffer[] = [];
  private headBytes = 0;
  private tail: Buffer[] = [];
  private tailBytes = 0;
  private total = 0;

  constructor(readonly limit: number = DEFAULT_OUTPUT_LIMIT) {}

  push(chunk: Buffer): void {
    this.total += chunk.length;
    const headRoom = Math.ceil(this.limit / 2) - this.headBytes;
    if (headRoom > 0) {
      const part = chunk.subarray(0, headRoom);
      this.head.push(part);
      this.headBytes += part.length;
      chunk = chunk.subarray(part.length);
      if (chunk.length === 0) return;
    }
    this.tail.push(chunk);
    this.tailBytes += chunk.length;
    const keep = Math.floor(this.limit / 2);
    if (this.tailBytes > 2 * keep + 65536) this.compact(keep);
  }

  /** Bytes written in all, kept or not. */
  get written(): number {
    return this.total;
  }

  get truncated(): boolean {
    return this.total > this.limit;
  }

  toString(): string {
    const keep = Math.floor(this.limit / 2);
    this.compact(keep);
    const head = Buffer.concat(this.head).toString('utf8');
    const tail = Buffer.concat(this.tail).toString('utf8');
    if (!this.truncated) return head + tail;
    const cut = this.total - this.headBytes - this.tailBytes;
    return `${head}\n[... ${cut} bytes of output cut: ${this.total} written, the first and last ${keep} kept ...]\n${tail}`;
  }

  private compact(keep: number): void {
    if (this.tailBytes <= keep) return;
    const all = Buffer.concat(this.tail);
    this.tail = [Buffer.from(all.subarray(all.length - keep))];
    this.tailBytes = keep;
  }
}
