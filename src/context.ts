/**
 * createContext(config) builds every shared resource in one place: the pg pool, Redis, the
 * logger, and (lazily, on first use) the queues, the run tracker, the provider pool and the batch
 * clients. Everything else receives a Context; nothing is a module-level singleton, and nothing
 * else constructs these. close() closes whatever was built.
 */
import type { Redis } from 'ioredis';
import type { Config } from './config/schema.ts';
import { createPool, type Db } from './store/db.ts';
import { closeRedis, createRedis } from './queue/connection.ts';
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
  /** Where outage lines go (the CLI prints them on stderr). @default the logger, at warn */
  notice?: (line: string) => void;
}

export function createContext(config: Config, opts: ContextOptions = {}): Context {
  const logger = opts.logger ?? createLogger(config.logLevel);
  const outages = new OutageReporter(opts.notice ?? ((line) => logger.warn(line)), config);
  const db = createPool({ url: config.databaseUrl, schema: config.dbSchema, max: config.dbPoolSize, onLost: (e) => outages.down('postgres', e), onConnect: () => outages.up('postgres') });
  const redis = createRedis(config.redisUrl, {}, { onLost: (e) => outages.down('redis', e), onReady: () => outages.up('redis') });
  return build({ config, db, redis, logger, outages }, async () => {
    await Promise.allSettled([db.end(), closeRedis(redis)]);
  });
}

/**
 * The same connections under another config (a test's override, a command's variant): the
 * queues, run tracker, providers and batch clients are built again from `config`, on first use.
 * Its close() closes only those; the connections stay `ctx`'s. A spread (`{ ...ctx, config }`)
 * would keep the resources `ctx` built from its own config.
 */
export function withConfig(ctx: Context, config: Config): Context {
  return build({ config, db: ctx.db, redis: ctx.redis, logger: ctx.logger, outages: ctx.outages }, async () => undefined);
}

/** The same context (same resources, same close) whose {@link Context.drain} is `drain`. */
export function withDrain(ctx: Context, drain: AbortSignal): Context {
  return Object.create(ctx, { drain: { value: drain } }) as Context;
}

type Connections = Pick<Context, 'config' | 'db' | 'redis' | 'logger' | 'outages'>;

function build(c: Connections, closeConnections: () => Promise<void>): Context {
  const { config, db, redis } = c;
  let queues: Queues | undefined;
  let runs: RunTracker | undefined;
  let providers: ProviderPool | undefined;
  let batchClients: BatchClients | undefined;
  let closed = false;
  const ctx = {
    ...c,
    drain: new AbortController().signal,
    async close() {
      if (closed) return;
      closed = true;
      await queues?.close().catch(() => undefined);
      await closeConnections();
    },
  } as Context;
  // Not enumerable: a spread of a context (`{ ...ctx, config }`) has none of them, so using one
  // fails at once instead of serving resources built from the other config (use withConfig).
  const lazy = <T>(get: () => T): PropertyDescriptor => ({ get, enumerable: false });
  Object.defineProperties(ctx, {
    queues: lazy(() => (queues ??= createQueues(redis, config))),
    runs: lazy(() => (runs ??= new RunTracker(redis, config.redisPrefix))),
    providers: lazy(() => (providers ??= new ProviderPool(db, config, redis))),
    batchClients: lazy(() => (batchClients ??= new BatchClients(ctx.providers, config))),
  });
  return ctx;
}
