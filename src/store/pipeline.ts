/**
 * Group commit for the online path. The statements that concurrent gateway requests issue in one
 * turn of the event loop (key lookups, cache lookups, ledger rows, cache writes) go to Postgres
 * as one multi-statement simple query on one connection: one round trip and one commit for all
 * of them instead of one each. On this kind of machine a round trip costs the client more CPU than
 * the statement costs the server (BENCHMARKS.md, "Gateway"), so under load this is what bounds
 * requests per second. A lone statement still goes alone, one turn later.
 *
 * Each statement is the store module's own SQL, unchanged: its `$n` parameters are bound as
 * literals, escaped as node-postgres escapes them, and every such statement casts its parameters
 * or puts them where Postgres infers their type. A batch runs as one implicit transaction, so
 * when any of its statements fails nothing of it is kept; it is then run again one statement at a
 * time, each with its parameters bound by the server, so one bad row fails only its own caller.
 * Statements with large parameters (a 2,048-input cache write) skip the batch.
 */
import pg from 'pg';
import { TurnBatch, togetherOrAlone } from '../turn-batch.ts';
import type { Db } from './db.ts';

interface Pending {
  text: string;
  values: readonly unknown[];
  resolve: (r: pg.QueryResult) => void;
  reject: (e: unknown) => void;
}

/** Where Pipeline sends what it does not batch. */
type Target = Pick<Db, 'query'>;

/** node-postgres' own conversion of a parameter to its text form (exported at runtime, not in its types). */
const prepareValue = (pg as unknown as { utils: { prepareValue(v: unknown): string | Buffer | null } }).utils.prepareValue;

/** Statements per round trip at most. */
const MAX_STATEMENTS = 64;
/** A statement whose parameters are longer than this (as text) goes alone, with server-bound parameters. */
const MAX_INLINE_CHARS = 64 * 1024;

/** Binds `values` into `text` as escaped literals; undefined when they are too large to inline. */
export function bindLiterals(text: string, values: readonly unknown[]): string | undefined {
  const literals: string[] = [];
  let size = 0;
  for (const v of values) {
    // node-postgres binds a Buffer (or a typed array) as binary; as a literal it is bytea's hex form.
    const p = prepareValue(v);
    const prepared = Buffer.isBuffer(p) ? `\\x${p.toString('hex')}` : p;
    const literal = prepared === null ? 'NULL' : pg.escapeLiteral(prepared);
    size += literal.length;
    if (size > MAX_INLINE_CHARS) return undefined;
    literals.push(literal);
  }
  return text.replace(/\$(\d+)/g, (m, n: string) => {
    const literal = literals[Number(n) - 1];
    if (literal === undefined) throw new RangeError(`statement refers to ${m} but has ${values.length} parameters: ${text.slice(0, 80)}`);
    return literal;
  });
}

/** A {@link Queryable} whose statements issued in one event-loop turn share a round trip (see above). */
export class Pipeline {
  readonly #db: Target;
  readonly #batch = new TurnBatch<Pending>((batch) => this.#flush(batch), MAX_STATEMENTS);

  constructor(db: Target) {
    this.#db = db;
  }

  query<R extends pg.QueryResultRow = any>(text: string, values: readonly unknown[] = []): Promise<pg.QueryResult<R>> {
    return new Promise<pg.QueryResult>((resolve, reject) => this.#batch.add({ text, values, resolve, reject })) as Promise<pg.QueryResult<R>>;
  }

  #flush(batch: Pending[]): void {
    const bound: { p: Pending; sql: string }[] = [];
    for (const p of batch) {
      let sql: string | undefined;
      try {
        sql = bindLiterals(p.text, p.values);
      } catch (e) {
        p.reject(e);
        continue;
      }
      if (sql === undefined) this.#alone(p);
      else bound.push({ p, sql });
    }
    // A failed statement leaves nothing of the batch on the server: each again on its own, so each
    // caller gets its own answer. A lost connection may have lost the commit's answer, not the
    // commit: then every caller gets the error, as for a statement of its own.
    togetherOrAlone(bound, {
      together: (b) => this.#together(b),
      alone: (b) => this.#alone(b.p),
      fail: (b, e) => b.p.reject(e),
      retryAlone: (e) => e instanceof pg.DatabaseError,
    });
  }

  #alone(p: Pending): void {
    this.#db.query(p.text, p.values as unknown[]).then(p.resolve, p.reject);
  }

  async #together(bound: readonly { p: Pending; sql: string }[]): Promise<void> {
    const r = (await this.#db.query(bound.map((b) => b.sql).join(';\n'))) as unknown as pg.QueryResult | pg.QueryResult[];
    const results = Array.isArray(r) ? r : [r];
    if (results.length !== bound.length) throw new Error(`pipeline: ${bound.length} statements gave ${results.length} results`);
    bound.forEach((b, i) => b.p.resolve(results[i]!));
  }
}
