/** BullMQ queues of one embedq deployment (one Redis prefix), created together and closed together. */
import { Queue, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Config } from '../config/schema.ts';
import { QUEUES, type QueueName } from './names.ts';

/** Default options per queue: retries with exponential backoff; finished jobs kept for a while for the dashboard. */
export const JOB_DEFAULTS: Record<QueueName, JobsOptions> = {
  ingest: { attempts: 3, backoff: { type: 'exponential', delay: 1000 }, removeOnComplete: { age: 24 * 3600, count: 1000 }, removeOnFail: { age: 7 * 24 * 3600 } },
  embed: { attempts: 6, backoff: { type: 'exponential', delay: 1000 }, removeOnComplete: { age: 3600, count: 2000 }, removeOnFail: { age: 7 * 24 * 3600 } },
  finalize: { attempts: 3, backoff: { type: 'exponential', delay: 2000 }, removeOnComplete: { age: 24 * 3600, count: 1000 }, removeOnFail: { age: 7 * 24 * 3600 } },
  reembed: { attempts: 10, backoff: { type: 'exponential', delay: 2000 }, removeOnComplete: { age: 7 * 24 * 3600, count: 100 }, removeOnFail: { age: 30 * 24 * 3600 } },
  schedules: { attempts: 3, backoff: { type: 'exponential', delay: 5000 }, removeOnComplete: { age: 7 * 24 * 3600, count: 200 }, removeOnFail: { age: 30 * 24 * 3600 } },
  batches: { attempts: 8, backoff: { type: 'exponential', delay: 2000 }, removeOnComplete: { age: 24 * 3600, count: 1000 }, removeOnFail: { age: 7 * 24 * 3600 } },
};

export type Queues = Record<QueueName, Queue> & { close(): Promise<void> };

/**
 * The queues of the deployment `config` names (its Redis prefix), with the same job defaults
 * whoever builds them (`config.worker.embedAttempts` overrides the embed queue's attempts).
 */
export function createQueues(connection: Redis, config: Pick<Config, 'redisPrefix' | 'worker'>): Queues {
  const prefix = config.redisPrefix;
  const embedAttempts = config.worker.embedAttempts;
  const defaults = (name: QueueName): JobsOptions => (name === 'embed' && embedAttempts ? { ...JOB_DEFAULTS.embed, attempts: embedAttempts } : JOB_DEFAULTS[name]);
  const make = (name: QueueName) => {
    const queue = new Queue(name, { connection, prefix, defaultJobOptions: defaults(name) });
    // A queue re-emits its connection's errors; unheard, BullMQ prints each one raw on stderr
    // (one per reconnect attempt, per queue). The connection's own listener reports the outage once.
    queue.on('error', () => undefined);
    return queue;
  };
  const q = { ingest: make(QUEUES.ingest), embed: make(QUEUES.embed), finalize: make(QUEUES.finalize), batches: make(QUEUES.batches), reembed: make(QUEUES.reembed), schedules: make(QUEUES.schedules) };
  return {
    ...q,
    async close() {
      await Promise.all(Object.values(q).map((x) => x.close()));
    },
  };
}
