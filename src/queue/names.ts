/** Queue names and content-derived job ids (enqueueing the same work twice is a no-op). */
import { createHash } from 'node:crypto';

export const QUEUES = {
  ingest: 'ingest',
  embed: 'embed',
  finalize: 'finalize',
  /** Provider batches: `batch-submit` jobs and the repeating `batch-poll` job. */
  batches: 'batches',
  /** Migration work: the `backfill` walk of a reembed. */
  reembed: 'reembed',
  /** Scheduled work: cache GC, spend rollup, users' source re-syncs. */
  schedules: 'schedules',
} as const;
export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];

/** A job id from content: a short prefix plus sha256 of the parts (BullMQ ids must not contain ':'). */
export function contentJobId(kind: string, ...parts: (string | number | Buffer)[]): string {
  const h = createHash('sha256');
  for (const p of parts) {
    const b = Buffer.isBuffer(p) ? p : Buffer.from(String(p));
    h.update(`${b.length}:`).update(b);
  }
  return `${kind}-${h.digest('hex').slice(0, 40)}`;
}
