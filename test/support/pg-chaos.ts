/**
 * Postgres connection loss without restarting the shared server: hold a lock the code under test
 * needs, wait until its backend is blocked on it (a state that lasts until we act, so no race),
 * then end that backend with pg_terminate_backend() — the client sees exactly what a server
 * restart gives it ("Connection terminated unexpectedly"/57P01).
 */
import pg from 'pg';
import { quoteIdent } from '../../src/store/identifiers.ts';

export interface Blocker {
  /** Waits until, for each of `relations`, a backend waits for our lock on it; returns their pids. */
  waitBlocked(relations: string[], timeoutMs?: number): Promise<number[]>;
  /** Terminates every backend our locks block, then releases the locks. Returns how many were ended. */
  terminateBlockedAndRelease(): Promise<number>;
  /** Releases the locks; the blocked statements go on. */
  release(): Promise<void>;
  close(): Promise<void>;
}

/** Locks `tables` of `schema` (each `[table, mode]`) in one open transaction of a connection of our own. */
export async function blockTables(databaseUrl: string, schema: string, tables: [string, string][]): Promise<Blocker> {
  const admin = new pg.Client({ connectionString: databaseUrl, application_name: 'embedq-test-blocker' });
  await admin.connect();
  await admin.query('BEGIN');
  for (const [t, mode] of tables) await admin.query(`LOCK TABLE ${quoteIdent(schema)}.${quoteIdent(t)} IN ${mode} MODE`);
  // Which relation each blocked backend waits for. (pg_stat_activity's query text is no help: a
  // lock taken while a statement is parsed shows the backend's previous statement.)
  const blocked = async () =>
    (
      await admin.query<{ pid: number; relname: string }>(
        `SELECT l.pid, c.relname FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
          WHERE NOT l.granted AND pg_backend_pid() = ANY(pg_blocking_pids(l.pid))`,
      )
    ).rows;
  let open = true;
  return {
    async waitBlocked(relations, timeoutMs = 30_000) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const rows = await blocked();
        const found = relations.map((r) => rows.find((b) => b.relname === r));
        if (found.every(Boolean)) return found.map((r) => r!.pid);
        if (Date.now() > until) throw new Error(`no backend blocked on ${relations.join(', ')} within ${timeoutMs} ms; blocked: ${JSON.stringify(rows)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async terminateBlockedAndRelease() {
      const { rows } = await admin.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pg_backend_pid() = ANY(pg_blocking_pids(pid))) t`,
      );
      await admin.query('ROLLBACK');
      open = false;
      return rows[0]!.n;
    },
    async release() {
      await admin.query('ROLLBACK');
      open = false;
    },
    async close() {
      if (open) await admin.query('ROLLBACK').catch(() => undefined);
      await admin.end().catch(() => undefined);
    },
  };
}
