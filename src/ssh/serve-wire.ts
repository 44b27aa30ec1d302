// The wire format of Nix's serve protocol: little-endian 64-bit numbers, and strings as a length, the bytes and
// zero padding to a multiple of eight.
import type { Readable } from 'node:stream';

/** Longest string a host may send us (store paths are far shorter). */
const MAX_STRING = 1 << 20;

export function wireNumber(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n));
  return b;
}

export function wireString(s: string): Buffer {
  const data = Buffer.from(s, 'utf8');
  return Buffer.concat([wireNumber(data.length), data, Buffer.alloc((8 - (data.length % 8)) % 8)]);
}

export function wireStrings(list: readonly string[]): Buffer {
  return Buffer.concat([wireNumber(list.length), ...list.map(wireString)]);
}

/** Reads numbers and strings from a stream as they arrive. Only for the small replies of the protocol. */
export class WireReader {
  private buffered: Buffer = Buffer.alloc(0);
  private ended: Error | undefined;
  private wake: (() => void) | undefined;

  /** `endMessage` is the error once the stream has ended. */
  constructor(stream: Readable, endMessage = 'the stream ended') {
    stream.on('data', (b: Buffer) => {
      this.buffered = this.buffered.length === 0 ? b : Buffer.concat([this.buffered, b]);
      this.notify();
    });
    const end = (): void => {
      this.ended ??= new Error(endMessage);
      this.notify();
    };
    stream.once('end', end);
    stream.once('close', end);
  }

  async number(): Promise<number> {
    const b = await this.take(8);
    const n = b.readBigUInt64LE();
    if (n > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`protocol error: number ${n} out of range`);
    return Number(n);
  }

  async string(): Promise<string> {
    const len = await this.number();
    if (len > MAX_STRING) throw new Error(`protocol error: string of ${len} bytes`);
    const b = await this.take(len + ((8 - (len % 8)) % 8));
    return b.subarray(0, len).toString('utf8');
  }

  async strings(): Promise<string[]> {
    const count = await this.number();
    const list: string[] = [];
    for (let i = 0; i < count; i++) list.push(await this.string());
    return list;
  }

  private async take(n: number): Promise<Buffer> {
    while (this.buffered.length < n) {
      if (this.ended) throw this.ended;
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
    const out = this.buffered.subarray(0, n);
    this.buffered = this.buffered.subarray(n);
    return out;
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}
