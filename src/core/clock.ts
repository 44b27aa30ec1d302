// The clock of a real run: wall time and timers.
import type { Clock } from './ports.js';

export const systemClock: Clock = {
  now: () => new Date(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};
