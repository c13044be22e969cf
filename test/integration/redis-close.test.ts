/**
 * Closing while Redis is away ends (a CI run hung 60 s on this). ioredis' disconnect() on a
 * connection that sits between reconnect attempts (status `reconnecting`: no socket, a retry timer
 * armed) clears the timer and emits nothing, so BullMQ's Worker.close(), which waits for `end`,
 * waited forever. An ingest whose Redis restarted a moment before it finished never exited, and
 * `embedq worker` stopped during an outage did not stop (its heartbeat removal, BullMQ's queued
 * commands and the context's QUIT each waited for Redis to come back).
 */
import { createContext } from '../../src/context.ts';
import { createLogger } from '../../src/logger.ts';
import { createRedis } from '../../src/queue/connection.ts';
import { migrate } from '../../src/store/migrate.ts';
import { startWorkers } from '../../workers/runtime.ts';
import { dropNamespace, expect, test, testConfig, uniqueName } from '../support/fixtures.ts';
import { startThrowawayRedis } from '../support/throwaway-redis.ts';

test('a connection closed between reconnect attempts ends, its duplicates too, and its pending commands fail', async () => {
  const redis = await startThrowawayRedis();
  try {
    const r = createRedis(redis.url);
    await r.connect();
    const dup = r.duplicate();
    dup.on('error', () => undefined);
    await dup.connect();
    await redis.stop();
    for (const c of [r, dup]) {
      // Told `reconnecting` on the next tick; its retry timer (50 ms at the least) has not fired yet.
      await new Promise((r) => c.once('reconnecting', r));
      expect(c.status).toBe('reconnecting');
      const pending = c.get('k');
      const ended = new Promise((r) => c.once('end', r));
      c.disconnect();
      await ended;
      expect(c.status).toBe('end');
      await expect(pending).rejects.toThrow(/Connection is closed/);
    }
  } finally {
    await redis.destroy();
  }
}, 30_000);

test('workers close while their Redis is down', async () => {
  const redis = await startThrowawayRedis();
  const schema = uniqueName('rclose');
  let wentAway!: () => void;
  const lost = new Promise<void>((r) => (wentAway = r));
  const notice = (line: string) => void (/went away/.test(line) && wentAway());
  const ctx = createContext(testConfig({ redisUrl: redis.url, dbSchema: schema, redisPrefix: schema }), { logger: createLogger('silent'), notice });
  try {
    await migrate(ctx.db, schema);
    const workers = await startWorkers(ctx, { name: 'close-while-down' });
    await redis.stop();
    await lost;
    await workers.close();
    // Ended, not left retrying: BullMQ's queued commands failed once Redis stayed away.
    for (const w of workers.workers) expect(w.isRunning()).toBe(false);
  } finally {
    await ctx.close();
    await redis.destroy();
    await dropNamespace(schema).catch(() => undefined);
  }
}, 60_000);

test('a context closes while its Redis is down, with commands still waiting for it', async () => {
  const redis = await startThrowawayRedis();
  const ctx = createContext(testConfig({ redisUrl: redis.url }), { logger: createLogger('silent'), notice: () => undefined });
  try {
    await ctx.redis.ping();
    await redis.stop();
    // Queued until Redis is back (a worker's heartbeat, a waiting CLI's poll): QUIT would queue behind it.
    const waiting = ctx.redis.get('k');
    await ctx.close();
    expect(ctx.redis.status).toBe('end');
    await expect(waiting).rejects.toThrow(/Connection is closed/);
  } finally {
    await redis.destroy();
  }
}, 30_000);
