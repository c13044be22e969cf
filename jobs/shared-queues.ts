/**
 * The queues several jobs share, with what they share: a BullMQ Worker serves a whole queue (one
 * concurrency), and its jobs keep one retry and retention policy. Each definition spreads its
 * queue's entry.
 */
import type { JobDefinition } from './define.ts';

type QueuePolicy = Pick<JobDefinition<unknown>, 'queue' | 'attempts' | 'backoff' | 'removeOnComplete' | 'removeOnFail' | 'concurrency'>;

/** Provider batches: `batch-submit` jobs and the repeating `batch-poll`. */
export const BATCHES: QueuePolicy = {
  queue: 'batches',
  attempts: 8,
  backoff: { type: 'exponential', delay: 2000 },
  removeOnComplete: { age: 24 * 3600, count: 1000 },
  removeOnFail: { age: 7 * 24 * 3600 },
  concurrency: 2,
};

/** Scheduled work: users' re-syncs and the system's own (cache GC, spend rollup, ledger sweep). */
export const SCHEDULES: QueuePolicy = {
  queue: 'schedules',
  attempts: 3,
  backoff: { type: 'exponential', delay: 5000 },
  removeOnComplete: { age: 7 * 24 * 3600, count: 200 },
  removeOnFail: { age: 30 * 24 * 3600 },
  concurrency: 1,
};
