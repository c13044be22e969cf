/**
 * Every advisory lock embedq takes, with its key. Processes contend on these keys, so a key never
 * changes: two versions of embedq running side by side must still exclude each other.
 */
import type pg from 'pg';

/**
 * Per index name, transaction-scoped. Ingest pages (and dual-write readers) take it shared;
 * creating an index and `reembed start` take it exclusive, so a page either commits before a
 * migration exists or sees it and writes its target too.
 */
export async function lockIndexShared(client: pg.PoolClient, name: string): Promise<void> {
  await client.query(`SELECT pg_advisory_xact_lock_shared(hashtext('embedq.index:' || $1))`, [name]);
}

/** The exclusive side of {@link lockIndexShared}; released at the end of the transaction. */
export async function lockIndexExclusive(client: pg.PoolClient, name: string): Promise<void> {
  await client.query(`SELECT pg_advisory_xact_lock(hashtext('embedq.index:' || $1))`, [name]);
}

// The batch lock's second key is an int4: the batch id folded into 31 bits.
const batchKey = (id: string) => Number(id) % 2 ** 31;

/**
 * Session lock on one provider batch, so two pollers never read it back at once. Returns false
 * when another session holds it. A crash releases it with the connection.
 */
export async function tryLockBatch(client: pg.PoolClient, id: string): Promise<boolean> {
  const { rows } = await client.query<{ ok: boolean }>(`SELECT pg_try_advisory_lock(hashtext('embedq.batch'), $1::int) AS ok`, [batchKey(id)]);
  return rows[0]?.ok === true;
}

/** Releases {@link tryLockBatch}'s lock; never throws (the connection may be gone). */
export async function unlockBatch(client: pg.PoolClient, id: string): Promise<void> {
  await client.query(`SELECT pg_advisory_unlock(hashtext('embedq.batch'), $1::int)`, [batchKey(id)]).catch(() => undefined);
}

const MIGRATE_KEY = 0x656d6265; // 'embe'

/** Session lock that serializes schema migrations across processes. */
export async function lockMigrations(client: pg.PoolClient): Promise<void> {
  await client.query('SELECT pg_advisory_lock($1)', [MIGRATE_KEY]);
}

/** Releases {@link lockMigrations}'s lock; never throws. */
export async function unlockMigrations(client: pg.PoolClient): Promise<void> {
  await client.query('SELECT pg_advisory_unlock($1)', [MIGRATE_KEY]).catch(() => undefined);
}
