/**
 * The Postgres pool and the few helpers every store module uses. Queries run with
 * `search_path = <schema>, public` so embedq's tables live in one schema (tests use one
 * per file) and pgvector's types resolve from public.
 */
import pg from 'pg';
import { ServiceUnavailableError, coerceError } from '../errors.ts';
import { lostService } from '../outage.ts';
import { redactUrl } from '../config/redact.ts';

export type Db = pg.Pool;
/** What a store function that runs single statements needs: a pool, a client (in a transaction), or a {@link Pipeline}. */
export interface Queryable {
  query<R extends pg.QueryResultRow = any>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>>;
}

export interface DbOptions {
  url: string;
  schema: string;
  /** Connections the pool may open (the config's `dbPoolSize`). @default pg's 10 */
  max?: number;
  applicationName?: string;
  /** Told when a connection is lost (server restart, terminated backend); the next query reconnects. */
  onLost?: (e: Error) => void;
  /** Told when a new connection is made (after an outage: the service is back). */
  onConnect?: () => void;
  /**
   * false: commits on this pool return before the WAL is flushed (`synchronous_commit=off`): a
   * Postgres crash may lose the last moments of its writes, never corrupt them. Only for writes
   * whose loss the ledger already tolerates (see src/gateway/gateway.ts). @default true
   */
  synchronousCommit?: boolean;
}

export function createPool(opts: DbOptions): Db {
  const pool = new pg.Pool({
    connectionString: opts.url,
    ...(opts.max ? { max: opts.max } : {}),
    application_name: opts.applicationName ?? 'embedq',
    options: `-c search_path=${opts.schema},public${opts.synchronousCommit === false ? ' -c synchronous_commit=off' : ''}`,
    connectionTimeoutMillis: 5000,
    idleTimeoutMillis: 10_000,
  });
  // A client's 'error' event (server restart, terminated backend) must not crash the process.
  // pg-pool listens on idle clients only: a checked-out client (a transaction, a COPY) with no
  // listener would take the process down with "Unhandled 'error' event". Its query rejects anyway
  // and the pool drops the broken client on release; the next query reconnects.
  const lost = (e: Error) => opts.onLost?.(e);
  pool.on('error', lost);
  pool.on('connect', (client) => {
    client.on('error', lost);
    opts.onConnect?.();
  });
  return pool;
}

/** Runs `fn` in a transaction on one client; rolls back on any error. */
export async function withTransaction<T>(db: Db, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await connect(db);
  let failed: unknown;
  try {
    await client.query('BEGIN');
    const out = await fn(client);
    await client.query('COMMIT');
    return out;
  } catch (e) {
    await client.query('ROLLBACK').catch(() => undefined);
    failed = e;
    throw e;
  } finally {
    // A client whose connection was lost is dropped, not handed to the next caller.
    client.release(failed !== undefined && lostService(failed) === 'postgres' ? coerceError(failed) : undefined);
  }
}

/** Checks out a client, turning connection failures into one clear {@link ServiceUnavailableError}. */
export async function connect(db: Db): Promise<pg.PoolClient> {
  try {
    return await db.connect();
  } catch (e) {
    throw describePgError(e, (db as unknown as { options: { connectionString: string } }).options.connectionString);
  }
}

/** Maps a connection-level error to a one-line explanation; other errors pass through. */
export function describePgError(e: unknown, url: string): Error {
  const err = e as NodeJS.ErrnoException & { code?: string };
  const where = redactUrl(url);
  const hint = 'Start it with `npm run services up` (scripts/services.sh) or set DATABASE_URL';
  switch (err.code) {
    case 'ECONNREFUSED':
      return new ServiceUnavailableError('postgres', where, 'connection refused', hint);
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new ServiceUnavailableError('postgres', where, 'unknown host', 'Check the host in DATABASE_URL');
    case 'ETIMEDOUT':
      return new ServiceUnavailableError('postgres', where, 'connection timed out', hint);
    case '28P01':
    case '28000':
      return new ServiceUnavailableError('postgres', where, 'authentication failed', 'Check the user and password in DATABASE_URL');
    case '3D000':
      return new ServiceUnavailableError('postgres', where, 'the database does not exist', 'Create it, or fix the database name in DATABASE_URL');
    case '57P03':
      return new ServiceUnavailableError('postgres', where, 'the server is starting up', 'Retry in a moment');
  }
  if (err.message?.includes('timeout exceeded when trying to connect')) return new ServiceUnavailableError('postgres', where, 'connection timed out', hint);
  if (err.code === '57P01' || err.code === '57P02' || err.message?.includes('Connection terminated') || err.message?.includes('not queryable'))
    return new ServiceUnavailableError('postgres', where, 'the connection was lost (server restarted or stopped)', 'Retry when it is back');
  return err instanceof Error ? err : new Error(String(e));
}
