/**
 * `ingest` job: one slice of a corpus (a list of files, a byte range of a JSONL file, or a CSV
 * file) read as a stream, a page of documents at a time, through {@link ingestPage}; misses
 * become `embed` jobs with content-derived ids.
 */
import type { Job } from 'bullmq';
import { readFiles, readJsonlRange } from '../src/corpus/readers/index.ts';
import type { ReadItem, ReadOptions, SourceDoc } from '../src/corpus/readers/types.ts';
import { tokenizerFor } from '../src/corpus/tokenizer.ts';
import { NonRetryableError } from '../src/errors.ts';
import { ingestPage } from '../src/pipeline/ingest-page.ts';
import { getIndex, type IndexVersion } from '../src/store/indexes.ts';
import { recordLedger } from '../src/store/ledger.ts';
import type { RunCounters } from '../src/queue/runs.ts';
import type { IngestSourceSpec } from '../src/pipeline/types.ts';
import type { JobDeps } from './deps.ts';
import { enqueueEmbedJobs, enqueueForBatch, type Miss } from './enqueue.ts';

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
    // Planned paths are read literally: a name with `*` is that file, never a pattern.
    case 'files':
      return readFiles(p.source.paths, { ...p.read, ...(p.source.baseDir ? { baseDir: p.source.baseDir } : {}) });
    case 'jsonl':
      return readJsonlRange(p.source.path, { ...p.read, start: p.source.start, end: p.source.end });
    case 'csv':
      return readFiles([p.source.path], p.read);
  }
}
