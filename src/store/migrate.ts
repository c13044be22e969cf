/**
 * Applies migrations/NNNN_name.sql in order, one transaction each, recording (id, name, sha256)
 * so a second run is a no-op. Refuses an applied file that was modified and a database that is
 * newer than this code. Serialized across processes by an advisory lock.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type pg from 'pg';
import { migrationsDir } from '../paths.ts';
import { connect, type Db } from './db.ts';
import { quoteIdent } from './identifiers.ts';
import { lockMigrations, unlockMigrations } from './locks.ts';
import { pgvectorVersion } from './server-info.ts';

export interface MigrationFile {
  id: number;
  name: string;
  sql: string;
  sha256: string;
}

export interface MigrateResult {
  applied: { id: number; name: string }[];
  alreadyApplied: number;
  schema: string;
}

/** Thrown when the database cannot be migrated safely; the message says what to do. */
export class MigrationError extends Error {
  override name = 'MigrationError';
}

export function readMigrations(dir = migrationsDir): MigrationFile[] {
  const files = readdirSync(dir).filter((f) => /^\d{4}_[a-z0-9_]+\.sql$/.test(f)).sort();
  return files.map((f) => {
    const sql = readFileSync(join(dir, f), 'utf8');
    return { id: Number(f.slice(0, 4)), name: f.replace(/\.sql$/, ''), sql, sha256: createHash('sha256').update(sql).digest('hex') };
  });
}

export async function migrate(db: Db, schema: string, files = readMigrations()): Promise<MigrateResult> {
  const client = await connect(db);
  try {
    await preflight(client);
    await lockMigrations(client);
    try {
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`);
      await client.query(`CREATE TABLE IF NOT EXISTS ${quoteIdent(schema)}.schema_migrations (
        id integer PRIMARY KEY, name text NOT NULL, sha256 text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
      const { rows } = await client.query<{ id: number; name: string; sha256: string }>(
        `SELECT id, name, sha256 FROM ${quoteIdent(schema)}.schema_migrations ORDER BY id`,
      );
      const byId = new Map(files.map((f) => [f.id, f]));
      for (const row of rows) {
        const file = byId.get(row.id);
        if (!file)
          throw new MigrationError(
            `the database (schema ${schema}) has migration ${row.name} that this version of embedq does not know: it is newer than this code. Upgrade embedq.`,
          );
        if (file.sha256 !== row.sha256)
          throw new MigrationError(
            `migration ${row.name} was changed after it was applied (sha256 ${row.sha256.slice(0, 12)}… in the database, ${file.sha256.slice(0, 12)}… on disk). Applied migrations are immutable: restore the file and add a new migration instead.`,
          );
      }
      const done = new Set(rows.map((r) => r.id));
      const applied: MigrateResult['applied'] = [];
      for (const file of files) {
        if (done.has(file.id)) continue;
        await client.query('BEGIN');
        try {
          await client.query(`SET LOCAL search_path = ${quoteIdent(schema)}, public`);
          await client.query(file.sql);
          await client.query(`INSERT INTO ${quoteIdent(schema)}.schema_migrations (id, name, sha256) VALUES ($1, $2, $3)`, [
            file.id,
            file.name,
            file.sha256,
          ]);
          await client.query('COMMIT');
        } catch (e) {
          await client.query('ROLLBACK').catch(() => undefined);
          throw new MigrationError(`migration ${file.name} failed and was rolled back: ${(e as Error).message}`);
        }
        applied.push({ id: file.id, name: file.name });
      }
      return { applied, alreadyApplied: rows.length, schema };
    } finally {
      await unlockMigrations(client);
    }
  } finally {
    client.release();
  }
}

/** Postgres >= 13 and a working pgvector, with messages that say how to get them. */
async function preflight(client: pg.PoolClient): Promise<void> {
  const { rows } = await client.query<{ v: string }>("SELECT current_setting('server_version_num') AS v");
  const num = Number(rows[0]?.v ?? 0);
  if (num < 130000)
    throw new MigrationError(`PostgreSQL ${Math.floor(num / 10000)} is too old: embedq needs PostgreSQL 13 or newer with pgvector.`);
  try {
    await client.query('CREATE EXTENSION IF NOT EXISTS vector SCHEMA public');
  } catch (e) {
    const m = (e as Error).message;
    if (/already exists/.test(m)) return;
    throw new MigrationError(
      `pgvector is not available in this database (CREATE EXTENSION vector: ${m}). Install pgvector for this server (scripts/services.sh does it for local instances) or point DATABASE_URL at a server that has it.`,
    );
  }
  const ext = await pgvectorVersion(client);
  const [maj = 0, min = 0] = (ext ?? '0.0').split('.').map(Number);
  // 0.8 for iterative index scans: tenant-scoped search filters inside the HNSW scan (src/store/vectors.ts).
  if (maj === 0 && min < 8) throw new MigrationError(`pgvector ${ext} is too old: embedq needs 0.8 or newer (ALTER EXTENSION vector UPDATE, after installing pgvector 0.8).`);
}

export interface SchemaState {
  exists: boolean;
  applied: number;
  pending: string[];
}

/** Which migrations are applied and which are pending, without changing anything. */
export async function schemaState(db: Db, schema: string, files = readMigrations()): Promise<SchemaState> {
  const client = await connect(db);
  try {
    const { rows: t } = await client.query(`SELECT 1 FROM pg_tables WHERE schemaname = $1 AND tablename = 'schema_migrations'`, [schema]);
    if (t.length === 0) return { exists: false, applied: 0, pending: files.map((f) => f.name) };
    const { rows } = await client.query<{ id: number }>(`SELECT id FROM ${quoteIdent(schema)}.schema_migrations`);
    const done = new Set(rows.map((r) => r.id));
    return { exists: true, applied: rows.length, pending: files.filter((f) => !done.has(f.id)).map((f) => f.name) };
  } finally {
    client.release();
  }
}
