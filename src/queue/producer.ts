/** BullMQ queues of one embedq deployment (one Redis prefix), created together and closed together. */
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Config } from '../config/schema.ts';
import { QUEUES, type QueueName } from './names.ts';

export type Queues = Record<QueueName, Queue> & { close(): Promise<void> };

/**
 * The queues of the deployment `config` names (its Redis prefix). They carry no job defaults:
 * each job's retries and retention are in its definition (jobs/*.ts), and its enqueue function
 * adds them to every job it adds.
 */
export function createQueues(connection: Redis, config: Pick<Config, 'redisPrefix'>): Queues {
  const prefix = config.redisPrefix;
  const make = (name: QueueName) => {
    const queue = new Queue(name, { connection, prefix });
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
