/**
 * createContext(config) builds every shared resource in one place: the pg pool, Redis, the
 * logger, and (lazily, on first use) the queues, the run tracker, the provider pool and the batch
 * clients. Everything else receives a Context; nothing is a module-level singleton, and nothing
 * else constructs these. close() closes whatever was built.
 */
import type { Redis } from 'ioredis';
import type { Config } from './config/schema.ts';
import { createPool, type Db } from './store/db.ts';
import { createRedis } from './queue/connection.ts';
import { createQueues, type Queues } from './queue/producer.ts';
import { RunTracker } from './queue/runs.ts';
import { BatchClients } from './providers/batch-clients.ts';
import { ProviderPool } from './providers/pool.ts';
import { createLogger, type Logger } from './logger.ts';
import { OutageReporter } from './outage.ts';

export interface Context {
  readonly config: Config;
  readonly db: Db;
  /** A shared connection for commands (not for BullMQ's blocking worker connection). */
  readonly redis: Redis;
  readonly logger: Logger;
  /** One line per Redis/Postgres outage, shared by every connection of the process. */
  readonly outages: OutageReporter;
  /** The deployment's queues (one Redis prefix), on {@link redis}, with the configured job defaults. */
  readonly queues: Queues;
  /** Run counters and state in Redis. */
  readonly runs: RunTracker;
  /** Providers by model version id, sharing one rate limiter. */
  readonly providers: ProviderPool;
  /** Batch API clients by model version. */
  readonly batchClients: BatchClients;
  /**
   * Fires when a worker begins to shut down: no new provider requests, those in flight finish.
   * Never fires on a context of its own; a worker hands its jobs {@link withDrain}.
   */
  readonly drain: AbortSignal;
  close(): Promise<void>;
}

export interface ContextOptions {
  logger?: Logger;
  poolSize?: number;
  /** Where outage lines go (the CLI prints them on stderr). @default the logger, at warn */
  notice?: (line: string) => void;
}

export function createContext(config: Config, opts: ContextOptions = {}): Context {
  const logger = opts.logger ?? createLogger(config.logLevel);
  const outages = new OutageReporter(opts.notice ?? ((line) => logger.warn(line)), config);
  const db = createPool({ url: config.databaseUrl, schema: config.dbSchema, max: opts.poolSize ?? 10, onLost: (e) => outages.down('postgres', e), onConnect: () => outages.up('postgres') });
  const redis = createRedis(config.redisUrl, {}, { onLost: (e) => outages.down('redis', e), onReady: () => outages.up('redis') });
  let queues: Queues | undefined;
  let runs: RunTracker | undefined;
  let providers: ProviderPool | undefined;
  let batchClients: BatchClients | undefined;
  let closed = false;
  const ctx: Context = {
    config,
    db,
    redis,
    logger,
    outages,
    get queues() {
      return (queues ??= createQueues(redis, config));
    },
    get runs() {
      return (runs ??= new RunTracker(redis, config.redisPrefix));
    },
    get providers() {
      return (providers ??= new ProviderPool(db, config, redis));
    },
    get batchClients() {
      return (batchClients ??= new BatchClients(ctx.providers, config));
    },
    drain: new AbortController().signal,
    async close() {
      if (closed) return;
      closed = true;
      await queues?.close().catch(() => undefined);
      await Promise.allSettled([db.end(), redis.quit().catch(() => redis.disconnect())]);
    },
  };
  return ctx;
}

/** The same context (same resources, same close) whose {@link Context.drain} is `drain`. */
export function withDrain(ctx: Context, drain: AbortSignal): Context {
  return Object.create(ctx, { drain: { value: drain } }) as Context;
}
