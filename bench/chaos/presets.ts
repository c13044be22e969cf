/** The two schedules: the full run (`npm run chaos`) and the short one inside `npm test`. */
import type { ChaosOptions } from './harness.ts';

/** 20,000 chunks in ~200 provider requests of 100: a kill every 15th request (~13), Redis and Postgres once each. */
export const FULL: ChaosOptions = {
  chunks: 20_000,
  workers: 3,
  embedBatch: 100,
  killEvery: 15,
  redisRestartAt: 60,
  postgresRestartAt: 130,
  downMs: 3000,
  // 10% 5xx; bursts of four 429s with Retry-After 2 s; every 9th answered after 3 s; every 17th cut mid-body.
  faults: { every5xx: 10, burst429: { every: 40, size: 4, retryAfterMs: 2000 }, slow: { every: 9, ms: 3000 }, cut: { every: 17 } },
  dims: 256,
  timeoutMs: 30 * 60_000,
};

/** 2,000 chunks in ~40 requests of 50: two kills, Redis and Postgres once each, the same provider faults. */
export const SHORT: ChaosOptions = {
  chunks: 2000,
  workers: 2,
  embedBatch: 50,
  killEvery: 14,
  redisRestartAt: 10,
  postgresRestartAt: 20,
  downMs: 1000,
  faults: { every5xx: 10, burst429: { every: 25, size: 2, retryAfterMs: 1000 }, slow: { every: 7, ms: 1000 }, cut: { every: 13 } },
  dims: 256,
  lockMs: 15_000,
  timeoutMs: 6 * 60_000,
};
