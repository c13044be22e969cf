/** What the Postgres server runs: its version, and pgvector's in this database. */
import { connect, type Db, type Queryable } from './db.ts';

/** The server's version (`16.4`) and pgvector's (null when not installed); a server that does not answer is one clear error. */
export async function serverVersions(db: Db): Promise<{ version: string; pgvector: string | null }> {
  const client = await connect(db);
  try {
    const version = (await client.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0]!.v;
    return { version, pgvector: await pgvectorVersion(client) };
  } finally {
    client.release();
  }
}

/** pgvector's version in this database (`0.8.0`), or null when the extension is not installed. */
export async function pgvectorVersion(q: Queryable): Promise<string | null> {
  const { rows } = await q.query<{ v: string }>(`SELECT extversion AS v FROM pg_extension WHERE extname = 'vector'`);
  return rows[0]?.v ?? null;
}
