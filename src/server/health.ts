/**
 * Liveness and readiness. `/healthz` answers while the process runs (a restart cannot fix a down
 * Redis, so liveness never looks at services); `/readyz` answers 200 only when Redis and Postgres
 * answer and the schema has no pending migrations, else 503 naming what is down. It answers
 * anyone who reaches the port, so it names no URL, host, user or database: the server's log and
 * `embedq status` have those.
 */
import { Hono } from 'hono';
import type { Context } from '../context.ts';
import { ServiceUnavailableError, coerceError } from '../errors.ts';
import { pingRedis } from '../queue/connection.ts';
import { describePgError } from '../store/db.ts';
import { schemaState } from '../store/migrate.ts';

/** One dependency's state. */
export interface Check {
  ok: boolean;
  error?: string;
  pending?: string[];
}

/** "not reachable: connection refused", "timed out", or "query failed": never the URL or the driver's text. */
function problem(e: unknown): string {
  if (e instanceof ServiceUnavailableError) return `not reachable: ${e.detail}`;
  return /timed out/.test(coerceError(e).message) ? 'timed out' : 'query failed (`embedq status` shows why)';
}

export interface Readiness {
  ready: boolean;
  /** Names of the failed checks, e.g. `["redis"]`. */
  down: string[];
  checks: { redis: Check; postgres: Check; migrations: Check };
}

/** Rejects with `what timed out after N ms` when `p` takes longer than `ms`. */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Probes Redis (a fresh connection with no retries, so the answer is about now, not about a
 * reconnecting client) and Postgres plus the migration state, in parallel.
 * @param timeoutMs per probe. @default 3000
 */
export async function checkReadiness(ctx: Pick<Context, 'config' | 'db'>, timeoutMs = 3000): Promise<Readiness> {
  const [redis, schema] = await Promise.allSettled([
    pingRedis(ctx.config.redisUrl, timeoutMs),
    withTimeout(schemaState(ctx.db, ctx.config.dbSchema), timeoutMs, 'Postgres'),
  ]);
  const checks: Readiness['checks'] = {
    redis: redis.status === 'fulfilled' ? { ok: true } : { ok: false, error: problem(redis.reason) },
    postgres: schema.status === 'fulfilled' ? { ok: true } : { ok: false, error: problem(describePgError(schema.reason, ctx.config.databaseUrl)) },
    migrations:
      schema.status !== 'fulfilled' ? { ok: false, error: 'unknown: Postgres did not answer' }
      : schema.value.pending.length ? { ok: false, pending: schema.value.pending, error: 'pending migrations: run `embedq db migrate`' }
      : { ok: true, pending: [] },
  };
  const down = Object.entries(checks).filter(([, c]) => !c.ok).map(([name]) => name);
  return { ready: down.length === 0, down, checks };
}

/** `GET /healthz` and `GET /readyz`. */
export function healthRoutes(ctx: Pick<Context, 'config' | 'db'>, opts: { timeoutMs?: number } = {}): Hono {
  const app = new Hono();
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/readyz', async (c) => {
    const r = await checkReadiness(ctx, opts.timeoutMs);
    return c.json({ status: r.ready ? 'ready' : 'unavailable', down: r.down, checks: r.checks }, r.ready ? 200 : 503);
  });
  return app;
}
