/**
 * createContext(config) builds every shared resource in one place: the pg pool, Redis and the
 * logger. Everything else receives a Context; nothing is a module-level singleton.
 */
import type { Redis } from 'ioredis';
import type { Config } from './config/schema.ts';
import { createPool, type Db } from './store/db.ts';
import { createRedis } from './queue/connection.ts';
import { createLogger, type Logger } from './logger.ts';

export interface Context {
  readonly config: Config;
  readonly db: Db;
  /** A shared connection for commands (not for BullMQ's blocking worker connection). */
  readonly redis: Redis;
  readonly logger: Logger;
  close(): Promise<void>;
}

export function createContext(config: Config, opts: { logger?: Logger; poolSize?: number } = {}): Context {
  const db = createPool({ url: config.databaseUrl, schema: config.dbSchema, max: opts.poolSize ?? 10 });
  const redis = createRedis(config.redisUrl);
  const logger = opts.logger ?? createLogger(config.logLevel);
  let closed = false;
  return {
    config,
    db,
    redis,
    logger,
    async close() {
      if (closed) return;
      closed = true;
      await Promise.allSettled([db.end(), redis.quit().catch(() => redis.disconnect())]);
    },
  };
}
