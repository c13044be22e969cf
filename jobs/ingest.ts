/**
 * `ingest` job: one slice of a corpus (a list of files, a byte range of a JSONL file, or a CSV
 * file) read as a stream, a page of documents at a time, through {@link ingestPage}; misses
 * become `embed` jobs with content-derived ids.
 */
import type { Job } from 'bullmq';
import { z } from 'zod';
import { readSources } from '../src/corpus/readers/index.ts';
import { duplicateId, placeOf } from '../src/corpus/readers/doc-id.ts';
import { readJsonl } from '../src/corpus/readers/jsonl.ts';
import type { ReadItem, ReadOptions, SourceDoc } from '../src/corpus/readers/types.ts';
import { tokenizerFor } from '../src/corpus/tokenizer.ts';
import { NonRetryableError } from '../src/errors.ts';
import { ingestPage } from '../src/pipeline/ingest-page.ts';
import { getIndex, type IndexVersion } from '../src/store/indexes.ts';
import { recordLedger } from '../src/store/ledger.ts';
import { claimDocIds } from '../src/queue/doc-claims.ts';
import type { RunCounters } from '../src/queue/runs.ts';
import type { IngestSourceSpec } from '../src/pipeline/types.ts';
import type { JobDeps } from './deps.ts';
import { enqueueEmbedJobs, enqueueForBatch, type Miss } from './enqueue.ts';
import { absolutePath, indexName, runId, tenantId } from './fields.ts';

export type IngestSource = IngestSourceSpec;

export interface IngestPayload {
  runId: string;
  index: string;
  tenant: string;
  source: IngestSource;
  read: ReadOptions;
  /** Where misses go: sync embed jobs, or a provider batch (half the price, within 24 h). @default sync */
  mode?: 'sync' | 'batch';
}

const fieldName = z.string().min(1).max(128).optional();
const notAllowed = z.never({ error: 'reader limits are fixed by the worker; a job may not set them' }).optional();

/**
 * What an ingest job may say (checked by jobs/validate.ts before the handler runs; the paths are
 * also checked against the roots its run recorded). Reader limits are not the job's to lift.
 */
export const ingestPayloadSchema = z.strictObject({
  runId,
  index: indexName,
  tenant: tenantId,
  source: z.discriminatedUnion('kind', [
    z.strictObject({ kind: z.literal('files'), paths: z.array(absolutePath).min(1).max(10_000), baseDir: absolutePath.optional() }),
    z.strictObject({ kind: z.literal('jsonl'), path: absolutePath, start: z.number().int().min(0), end: z.number().int().positive(), baseDir: absolutePath.optional() }).refine((s) => s.end > s.start, 'a byte range with end > start'),
    z.strictObject({ kind: z.literal('csv'), path: absolutePath, baseDir: absolutePath.optional() }),
  ]),
  read: z.strictObject({
    invalidUtf8: z.enum(['reject', 'replace']),
    globalIds: z.boolean().optional(),
    maxFileBytes: notAllowed,
    maxRecordBytes: notAllowed,
    jsonl: z.strictObject({ idField: fieldName, textField: fieldName, metadataField: fieldName }).optional(),
    csv: z.strictObject({ textColumn: fieldName, idColumn: fieldName }).optional(),
  }),
  mode: z.enum(['sync', 'batch']).optional(),
}) satisfies z.ZodType<IngestPayload>;

/** The files an ingest job reads. */
export function sourcePaths(source: IngestSource): string[] {
  return source.kind === 'files' ? source.paths : [source.path];
}

/** Documents per page (one round of statements); pages also close at ~2 MB of text. */
const PAGE_DOCS = 500;
const PAGE_BYTES = 2 * 1024 * 1024;

export async function handleIngest(deps: JobDeps, job: Job<IngestPayload>): Promise<Partial<RunCounters>> {
  const { ctx, runs, providers } = deps;
  const p = job.data;
  const index = await getIndex(ctx.db, p.index);
  if (!index) throw new NonRetryableError(`index ${p.index} does not exist`);
  const tokenizer = tokenizerFor(index.tokenizer);
  const totals: Partial<RunCounters> = { documents: 0, documentsSkipped: 0, chunks: 0, cacheHits: 0 };
  const rejected: { path: string; reason: string }[] = [];
  let page: SourceDoc[] = [];
  let pageBytes = 0;
  // Misses gathered across pages, so a run with few changes per page still makes full embed jobs
  // (a crash loses nothing: the retried job finds those documents' vectors missing and redoes them).
  const pending = new Map<number, { target: IndexVersion; misses: Miss[] }>();
  const sendPending = async (all: boolean) => {
    for (const [id, b] of pending) {
      // A provider batch is one per ingest job, at its end; sync work goes out in full embed jobs.
      if (!all && (p.mode === 'batch' || b.misses.length < deps.ctx.config.worker.embedBatch)) continue;
      if (p.mode === 'batch') await enqueueForBatch(deps, p, b.target, b.misses, job.id ?? p.runId);
      else await enqueueEmbedJobs(deps, p, b.target, b.misses);
      pending.delete(id);
    }
  };

  const flush = async () => {
    if (page.length === 0) return;
    // An id read twice in this run (in this page or any other job's) keeps its first place; the rest are rejections.
    const taken = await claimDocIds(ctx.redis, ctx.config.redisPrefix, p.runId, page.map((d) => ({ docId: d.docId, where: placeOf(d) })));
    if (taken.size) page = page.filter((d, i) => (taken.has(i) ? (rejected.push(duplicateId(d, taken.get(i)!, p.read.globalIds)), false) : true));
    const r = await ingestPage({ db: ctx.db, index, tenant: p.tenant, tokenizer, docs: page });
    page = [];
    pageBytes = 0;
    totals.documents! += r.documents;
    totals.documentsSkipped! += r.documentsSkipped;
    totals.chunks! += r.chunks;
    totals.cacheHits! += r.cacheHits;
    rejected.push(...r.rejected);
    for (const t of r.targets) {
      const misses = r.misses.get(t.id) ?? [];
      if (misses.length) {
        const b = pending.get(t.id) ?? { target: t, misses: [] };
        b.misses.push(...misses);
        pending.set(t.id, b);
      }
      const saved = r.hitTokens.get(t.id) ?? 0;
      if (saved > 0) {
        const { mv } = await providers.get(t.modelVersionId);
        await recordLedger(ctx.db, [
          { tenant: p.tenant, provider: mv.provider, modelVersionId: t.modelVersionId, mode: 'cache', status: 'cache_hit', inputs: r.cacheHits, tokens: saved, savedUsd: (saved / 1e6) * mv.resolved.spec.priceSyncPerMTok, jobId: job.id ?? null, runId: p.runId },
        ]);
      }
    }
    await sendPending(false);
    await job.updateProgress({ documents: totals.documents, chunks: totals.chunks });
    await runs.live(p.runId, { chunks: r.chunks, done: r.cacheHits, hits: r.cacheHits });
  };

  for await (const item of itemsOf(p)) {
    if (item.kind === 'rejected') {
      rejected.push({ path: item.path, reason: item.reason });
      continue;
    }
    page.push(item);
    pageBytes += item.text.length;
    if (page.length >= PAGE_DOCS || pageBytes >= PAGE_BYTES) await flush();
  }
  await flush();
  await sendPending(true);
  await runs.reject(p.runId, rejected);
  return totals;
}

function itemsOf(p: IngestPayload): AsyncIterable<ReadItem> {
  switch (p.source.kind) {
    case 'files':
      return readSources(p.source.paths, { ...p.read, ...(p.source.baseDir ? { baseDir: p.source.baseDir } : {}) });
    case 'jsonl':
      return readJsonl(p.source.path, { ...p.read, start: p.source.start, end: p.source.end, ...(p.source.baseDir ? { baseDir: p.source.baseDir } : {}) });
    case 'csv':
      return readSources([p.source.path], { ...p.read, ...(p.source.baseDir ? { baseDir: p.source.baseDir } : {}) });
  }
}
