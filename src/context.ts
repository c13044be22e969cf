/**
 * createContext(config) builds every shared resource in one place: the pg pool, Redis and the
 * logger. Everything else receives a Context; nothing is a module-level singleton.
 */
import type { Redis } from 'ioredis';
import type { Config } from './config/schema.ts';
import { createPool, type Db } from './store/db.ts';
import { createRedis } from './queue/connection.ts';
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
  let closed = false;
  return {
    config,
    db,
    redis,
    logger,
    outages,
    async close() {
      if (closed) return;
      closed = true;
      await Promise.allSettled([db.end(), redis.quit().catch(() => redis.disconnect())]);
    },
  };
}
