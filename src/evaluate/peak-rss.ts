// The peak resident memory of a running process, read from /proc while it runs (Linux): VmHWM is the kernel's
// own high-water mark, so a sample misses only what grew since the last one.
import { readFile } from 'node:fs/promises';

/** How often /proc is read. */
const SAMPLE_MS = 25;

/** VmHWM (or VmRSS) of a /proc/<pid>/status text, in bytes. */
export function peakOfStatus(text: string): number | undefined {
  const m = /^VmHWM:\s+(\d+) kB/m.exec(text) ?? /^VmRSS:\s+(\d+) kB/m.exec(text);
  return m ? Number(m[1]) * 1024 : undefined;
}

export interface PeakWatch {
  /** Stop sampling; the highest peak seen, or undefined when /proc said nothing (not Linux, or too quick). */
  stop(): Promise<number | undefined>;
}

export function watchPeak(pid: number): PeakWatch {
  let peak: number | undefined;
  let pending: Promise<void> = Promise.resolve();
  const sample = () => {
    pending = readFile(`/proc/${pid}/status`, 'utf8').then(
      (text) => {
        const p = peakOfStatus(text);
        if (p !== undefined) peak = Math.max(peak ?? 0, p);
      },
      () => undefined, // gone already
    );
  };
  sample();
  const timer = setInterval(sample, SAMPLE_MS);
  return {
    async stop() {
      clearInterval(timer);
      await pending;
      return peak;
    },
  };
}
