import { redactUrls } from '../config/redact.ts';
import type { Queryable } from './db.ts';

export interface LedgerEntry {
  tenant: string;
  provider: string;
  modelVersionId: number;
  mode: 'sync' | 'batch' | 'cache';
  status: 'ok' | 'error' | 'retry' | 'cache_hit';
  inputs: number;
  tokens: number;
  latencyMs?: number | null;
  costUsd?: number;
  savedUsd?: number;
  attempt?: number | null;
  httpStatus?: number | null;
  error?: string | null;
  batchId?: string | null;
  jobId?: string | null;
  runId?: string | null;
}

/** Appends ledger rows in one multi-row statement. */
export async function recordLedger(db: Queryable, entries: LedgerEntry[]): Promise<void> {
  if (entries.length === 0) return;
  const col = <K extends keyof LedgerEntry>(k: K) => entries.map((e) => e[k] ?? null);
  await db.query(
    `INSERT INTO ledger (tenant, provider, model_version_id, mode, status, inputs, tokens, latency_ms, cost_usd, saved_usd, attempt, http_status, error, batch_id, job_id, run_id)
     SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::text[], $6::int[], $7::bigint[], $8::int[], $9::numeric[], $10::numeric[],
                          $11::int[], $12::int[], $13::text[], $14::text[], $15::text[], $16::text[])`,
    [
      col('tenant'), col('provider'), col('modelVersionId'), col('mode'), col('status'), col('inputs'), col('tokens'), col('latencyMs'),
      entries.map((e) => e.costUsd ?? 0), entries.map((e) => e.savedUsd ?? 0), col('attempt'), col('httpStatus'), entries.map((e) => (e.error == null ? null : redactUrls(e.error))),
      col('batchId'), col('jobId'), col('runId'),
    ],
  );
}
