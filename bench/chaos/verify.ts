/**
 * The chaos run's end-state checks, read from Postgres and BullMQ: every chunk has exactly one
 * vector, each vector is the simulator's for its text, no failed jobs, and the ledger against
 * the simulator's count. Read-only, one page of 2,000 chunks per query.
 */
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import pg from 'pg';
import { QUEUES } from '../../src/queue/names.ts';
import { sweepUnsettled } from '../../src/store/ledger.ts';
import { adaptDims } from '../../src/providers/vectors.ts';
import { simulatedVector } from '../../test/support/simulator/embeddings.ts';
import type { SimState } from '../../test/support/simulator/route-types.ts';

export interface Verdict {
  documents: number;
  chunks: number;
  vectors: number;
  /** Vector rows beyond one per chunk, vectors of no chunk, and documents beyond the corpus. */
  duplicates: number;
  /** Vectors that differ from the simulator's for the chunk's text (more than 1e-6 in any dimension). */
  wrong: number;
  /** Chunks without a vector, and corpus records without a document. */
  missing: number;
  failedJobs: number;
  /** Up to five failed jobs per queue: queue, name, attempts and BullMQ's failedReason. */
  failedReasons: string[];
  /** Jobs still waiting, active or delayed when verified. */
  pendingJobs: number;
  /** `ok` sync inputs in the ledger. */
  ledgerInputs: number;
  /** Attempts still `sent` after the sweep. */
  unsettled: number;
  /** Inputs of `unknown` attempts (possibly billed). */
  unknownInputs: number;
  /** Attempts left `sent` by killed workers, settled `unknown` by the ledger sweep before counting. */
  swept: number;
}

const schemaQ = (s: string) => `"${s.replace(/"/g, '""')}"`;

/** Queues whose jobs a run waits for (`schedules` and `batches` hold repeating jobs that are always delayed). */
const RUN_QUEUES: string[] = [QUEUES.ingest, QUEUES.embed, QUEUES.finalize];

export async function pendingJobs(redisUrl: string, prefix: string): Promise<{ pending: number; failed: number; reasons: string[] }> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1, lazyConnect: true });
  redis.on('error', () => {});
  let pending = 0;
  let failed = 0;
  const reasons: string[] = [];
  try {
    await redis.connect();
    for (const name of Object.values(QUEUES)) {
      const q = new Queue(name, { connection: redis, prefix });
      q.on('error', () => {});
      const c = await q.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'waiting-children', 'failed');
      if (RUN_QUEUES.includes(name)) pending += (c.waiting ?? 0) + (c.active ?? 0) + (c.delayed ?? 0) + (c.prioritized ?? 0) + (c['waiting-children'] ?? 0);
      failed += c.failed ?? 0;
      for (const j of c.failed ? await q.getFailed(0, 4) : []) reasons.push(`${name} ${j.name} (${j.attemptsMade} attempts): ${j.failedReason.slice(0, 200)}`);
      await q.close();
    }
  } finally {
    redis.disconnect();
  }
  return { pending, failed, reasons };
}

export async function verify(opts: { databaseUrl: string; schema: string; redisUrl: string; prefix: string; index: string; model: string; nativeDims: number; expectedDocuments: number }): Promise<Verdict> {
  // One connection, so the search_path set for the sweep holds for every statement below.
  const db = new pg.Pool({ connectionString: opts.databaseUrl, max: 1 });
  db.on('error', () => {});
  try {
    const s = schemaQ(opts.schema);
    const iv = await db.query(`SELECT v.table_name, v.dims, i.id AS index_id FROM ${s}.indexes i JOIN ${s}.index_aliases a ON a.index_id = i.id JOIN ${s}.index_versions v ON v.id = a.index_version_id WHERE i.name = $1`, [opts.index]);
    if (iv.rows.length !== 1) throw new Error(`chaos: index ${opts.index} has ${iv.rows.length} live versions in ${opts.schema}; expected 1`);
    const { table_name: table, dims, index_id: indexId } = iv.rows[0] as { table_name: string; dims: number; index_id: number };
    const vec = `${s}.${schemaQ(table)}`;
    const one = async (sql: string, params: unknown[] = []) => Number((await db.query(sql, params)).rows[0].n);
    const documents = await one(`SELECT count(*) AS n FROM ${s}.documents WHERE index_id = $1`, [indexId]);
    const chunks = await one(`SELECT count(*) AS n FROM ${s}.chunks WHERE index_id = $1`, [indexId]);
    const vectors = await one(`SELECT count(*) AS n FROM ${vec}`);
    const distinct = await one(`SELECT count(DISTINCT chunk_id) AS n FROM ${vec}`);
    const orphans = await one(`SELECT count(*) AS n FROM ${vec} v WHERE NOT EXISTS (SELECT 1 FROM ${s}.chunks c WHERE c.id = v.chunk_id)`);
    let missing = Math.max(0, opts.expectedDocuments - documents);
    let wrong = 0;
    const state = { embedders: new Map() } as unknown as SimState;
    let cursor = 0;
    for (;;) {
      const page = await db.query(`SELECT c.id, c.text, v.embedding::text AS e FROM ${s}.chunks c LEFT JOIN ${vec} v ON v.chunk_id = c.id WHERE c.index_id = $1 AND c.id > $2 ORDER BY c.id LIMIT 2000`, [indexId, cursor]);
      for (const r of page.rows as { id: string; text: string; e: string | null }[]) {
        if (r.e === null) {
          missing++;
          continue;
        }
        const got = JSON.parse(r.e) as number[];
        const want = adaptDims(simulatedVector(state, opts.model, opts.nativeDims, r.text), dims, 'truncate');
        if (got.length !== want.length || got.some((x, i) => Math.abs(x - want[i]!) > 1e-6)) wrong++;
      }
      if (page.rows.length < 2000) break;
      cursor = Number(page.rows.at(-1).id);
    }
    // No job is queued or active by now (the harness waited for that), so no attempt is in flight:
    // a row still `sent` was left by a killed worker. Settle those as the scheduled ledger sweep
    // does once they pass its bound (jobs/ledger-sweep.ts), then count what is left.
    await db.query(`SET search_path TO ${s}, public`);
    const swept = await sweepUnsettled(db, 0);
    const ledgerInputs = await one(`SELECT coalesce(sum(inputs), 0) AS n FROM ${s}.ledger WHERE mode = 'sync' AND status = 'ok'`);
    const unsettled = await one(`SELECT count(*) AS n FROM ${s}.ledger WHERE status = 'sent'`);
    const unknownInputs = await one(`SELECT coalesce(sum(inputs), 0) AS n FROM ${s}.ledger WHERE status = 'unknown'`);
    const jobs = await pendingJobs(opts.redisUrl, opts.prefix);
    return {
      documents,
      chunks,
      vectors,
      duplicates: vectors - distinct + orphans + Math.max(0, documents - opts.expectedDocuments),
      wrong,
      missing,
      failedJobs: jobs.failed,
      failedReasons: jobs.reasons,
      pendingJobs: jobs.pending,
      ledgerInputs,
      unsettled,
      unknownInputs,
      swept,
    };
  } finally {
    await db.end();
  }
}
