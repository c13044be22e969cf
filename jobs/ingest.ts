/**
 * `ingest` job: one slice of a corpus (a list of files, a byte range of a JSONL file, or a CSV
 * file) read as a stream, a page of documents at a time, through {@link ingestPage}; misses
 * become `embed` jobs with content-derived ids. Resumable: see {@link handleIngest}.
 */
import type { Job } from 'bullmq';
import { z } from 'zod';
import { readCsvFrom, readFiles, readJsonlRange } from '../src/corpus/readers/index.ts';
import { duplicateId, placeOf } from '../src/corpus/readers/doc-id.ts';
import type { ReadItem, ReadOptions, ReadPosition, SourceDoc } from '../src/corpus/readers/types.ts';
import { tokenizerFor } from '../src/corpus/tokenizer.ts';
import { NonRetryableError } from '../src/errors.ts';
import { ingestPage } from '../src/pipeline/ingest-page.ts';
import { getIndex, type IndexVersion } from '../src/store/indexes.ts';
import { recordLedger } from '../src/store/ledger.ts';
import { claimDocIds } from '../src/queue/doc-claims.ts';
import { AttemptTracker } from '../src/queue/attempts.ts';
import type { IngestCursor } from '../src/queue/runs.ts';
import { RECORDS_JOB_BYTES, RECORDS_PER_JOB, type IngestSourceSpec } from '../src/pipeline/types.ts';
import { normalizeText } from '../src/corpus/normalize.ts';
import { isUnder } from '../src/corpus/readers/roots.ts';
import { contentJobId } from '../src/queue/names.ts';
import type { Context } from '../src/context.ts';
import { defineJob, enqueueBulk, idOf } from './define.ts';
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
 * also checked against the roots its run recorded, {@link ingestProblem}). Reader limits are not
 * the job's to lift.
 */
const ingestPayloadSchema = z.strictObject({
  runId,
  index: indexName,
  tenant: tenantId,
  source: z.discriminatedUnion('kind', [
    z.strictObject({ kind: z.literal('files'), paths: z.array(absolutePath).min(1).max(10_000), baseDir: absolutePath.optional() }),
    z.strictObject({ kind: z.literal('jsonl'), path: absolutePath, start: z.number().int().min(0), end: z.number().int().positive(), baseDir: absolutePath.optional() }).refine((s) => s.end > s.start, 'a byte range with end > start'),
    z.strictObject({ kind: z.literal('csv'), path: absolutePath, baseDir: absolutePath.optional() }),
    z.strictObject({
      kind: z.literal('records'),
      seq: z.number().int().min(0),
      label: z.string().min(1).max(200),
      records: z
        .array(z.strictObject({ id: z.string().min(1).max(1024), text: z.string().min(1), metadata: z.record(z.string(), z.unknown()).optional() }))
        .min(1)
        .max(RECORDS_PER_JOB)
        .refine((rs) => Buffer.byteLength(JSON.stringify(rs)) <= RECORDS_JOB_BYTES + 64 * 1024, `at most ${RECORDS_JOB_BYTES} bytes of records`),
    }),
  ]),
  read: z.strictObject({
    invalidUtf8: z.enum(['reject', 'replace']),
    globalIds: z.boolean().optional(),
    maxFileBytes: notAllowed,
    maxRecordBytes: notAllowed,
    jsonl: z.strictObject({ idField: fieldName, textField: fieldName, metadataField: fieldName }).optional(),
    csv: z.strictObject({ textColumn: fieldName, idColumn: fieldName, metadataColumns: z.array(z.string().min(1).max(200)).max(1000).optional() }).optional(),
  }),
  mode: z.enum(['sync', 'batch']).optional(),
}) satisfies z.ZodType<IngestPayload>;

/** The files an ingest job reads (none for records it carries). */
function sourcePaths(source: IngestSource): string[] {
  if (source.kind === 'records') return [];
  return source.kind === 'files' ? source.paths : [source.path];
}

/** An ingest job must belong to a recorded run of the same index and tenant, and read only under that run's roots. */
async function ingestProblem(ctx: Context, job: Job<IngestPayload>): Promise<string | undefined> {
  const p = job.data;
  const run = await ctx.runs.get(p.runId);
  if (!run) return `its run ${p.runId} is not recorded under Redis prefix ${ctx.config.redisPrefix}`;
  if (run.index !== p.index || run.tenant !== p.tenant) return `it names index ${p.index} and tenant ${p.tenant}, but its run ${p.runId} is for index ${run.index} and tenant ${run.tenant}`;
  const outside = sourcePaths(p.source).filter((path) => !run.roots.some((root) => isUnder(path, root)));
  if (outside.length)
    return `${outside.length} of its paths lie outside the roots its run recorded (${run.roots.join(', ') || 'none'}): ${outside.slice(0, 3).join(', ')}${outside.length > 3 ? ', …' : ''}`;
  return undefined;
}

/** Documents per page (one round of statements); pages also close at ~2 MB of text. */
const PAGE_DOCS = 500;
const PAGE_BYTES = 2 * 1024 * 1024;
/** Misses gathered over this many pages go out even if short of a full embed job, so a resumed attempt re-reads at most this many pages. */
const MAX_GATHER_PAGES = 4;

/** What one attempt returns: the job's totals, where this attempt began (null: at the start) and how many items it read. */
export type IngestResult = IngestCursor['totals'] & { resumedAt: ReadPosition | null; read: number };

/**
 * Reads the slice page by page. After every page the job records its cursor (position reached
 * and counters, {@link RunTracker.checkpoint}): a retried attempt, after an error or a killed
 * worker, starts there instead of at the beginning of its slice, and what was stored counts in
 * the run even if the job fails later.
 */
async function handleIngest(ctx: Context, job: Job<IngestPayload>): Promise<IngestResult> {
  const { runs, providers } = ctx;
  const p = job.data;
  const index = await getIndex(ctx.db, p.index);
  if (!index) throw new NonRetryableError(`index ${p.index} does not exist`);
  const tokenizer = tokenizerFor(index.tokenizer);
  const jobId = job.id ?? p.runId;
  const attempts = new AttemptTracker(ctx.redis, ctx.config.redisPrefix);
  const cursor = await runs.cursor(p.runId, jobId);
  const totals: IngestCursor['totals'] = { documents: 0, documentsSkipped: 0, chunks: 0, cacheHits: 0, ...cursor?.totals };
  // Pages from `redo` to `pos` were stored and counted; they are read again, uncounted, only for
  // the misses that were still being gathered into a fuller embed job when the attempt ended.
  const resumedAt = cursor?.redo ?? cursor?.pos;
  let redoUntil = cursor?.redo ? cursor.pos.offset : -1;
  if (resumedAt) await job.log(`resuming at ${describePosition(p.source, resumedAt)}${cursor?.redo ? `, re-reading to ${describePosition(p.source, cursor.pos)} for misses not yet enqueued` : ''}`);
  const origin: ReadPosition = { offset: p.source.kind === 'jsonl' ? p.source.start : 0, line: 0 };
  let readPos: ReadPosition = resumedAt ?? origin;
  let pageStart = readPos;
  let read = 0;
  const rejected: { path: string; reason: string }[] = [];
  let page: SourceDoc[] = [];
  let pageBytes = 0;
  // Misses gathered across pages, so a run with few changes per page still makes full embed jobs;
  // `from` is where the first page they came from began (the cursor's `redo`).
  const pending = new Map<number, { target: IndexVersion; misses: Miss[]; from: ReadPosition; pages: number }>();
  const sendPending = async (all: boolean) => {
    for (const [id, b] of pending) {
      // A provider batch is one per ingest job, at its end; sync work goes out in full embed jobs.
      if (!all && (p.mode === 'batch' || (b.misses.length < ctx.config.worker.embedBatch && b.pages < MAX_GATHER_PAGES))) continue;
      if (p.mode === 'batch') await enqueueForBatch(ctx, p, b.target, b.misses, jobId);
      else await enqueueEmbedJobs(ctx, p, b.target, b.misses);
      pending.delete(id);
    }
  };

  const checkpoint = async () => {
    await runs.reject(p.runId, rejected.splice(0));
    let redo: ReadPosition | undefined;
    for (const b of pending.values()) if (!redo || b.from.offset < redo.offset) redo = b.from;
    if (await runs.checkpoint(p.runId, jobId, { pos: readPos, ...(redo ? { redo } : {}), totals: { ...totals } })) await attempts.progressed('ingest', jobId);
  };

  /** Stores the page, then records the cursor. `counting` is false for pages re-read in the redo zone. */
  const flush = async (counting: boolean) => {
    // An id read twice in this run (in this page or any other job's) keeps its first place; the rest are rejections.
    const taken = await claimDocIds(ctx.redis, ctx.config.redisPrefix, p.runId, page.map((d) => ({ docId: d.docId, where: placeOf(d) })));
    if (taken.size) page = page.filter((d, i) => (taken.has(i) ? (rejected.push(duplicateId(d, taken.get(i)!, p.read.globalIds)), false) : true));
    if (page.length > 0) {
      const r = await ingestPage({ db: ctx.db, index, tenant: p.tenant, tokenizer, docs: page });
      if (counting) {
        totals.documents += r.documents;
        totals.documentsSkipped += r.documentsSkipped;
        totals.chunks += r.chunks;
      }
      totals.cacheHits += r.cacheHits;
      rejected.push(...r.rejected);
      for (const t of r.targets) {
        const misses = r.misses.get(t.id) ?? [];
        if (misses.length) {
          const b = pending.get(t.id) ?? { target: t, misses: [], from: pageStart, pages: 0 };
          b.misses.push(...misses);
          b.pages++;
          pending.set(t.id, b);
        }
        const saved = r.hitTokens.get(t.id) ?? 0;
        if (saved > 0) {
          const { mv } = await providers.get(t.modelVersionId);
          await recordLedger(ctx.db, [
            { tenant: p.tenant, provider: mv.provider, modelVersionId: t.modelVersionId, mode: 'cache', status: 'cache_hit', inputs: r.hitInputs.get(t.id) ?? 0, tokens: saved, savedUsd: (saved / 1e6) * mv.resolved.spec.priceSyncPerMTok, jobId: job.id ?? null, runId: p.runId },
          ]);
        }
      }
      await job.updateProgress({ documents: totals.documents, chunks: totals.chunks });
      await runs.live(p.runId, { chunks: counting ? r.chunks : 0, done: r.cacheHits, hits: r.cacheHits });
    }
    page = [];
    pageBytes = 0;
    await sendPending(false);
    await checkpoint();
    pageStart = readPos;
  };

  for await (const item of itemsOf(p, resumedAt)) {
    if (redoUntil >= 0 && item.next && item.next.offset > redoUntil) {
      await flush(false);
      redoUntil = -1;
    }
    read++;
    if (item.next) readPos = item.next;
    if (item.kind === 'rejected') {
      rejected.push({ path: item.path, reason: item.reason });
      continue;
    }
    page.push(item);
    pageBytes += item.text.length;
    if (page.length >= PAGE_DOCS || pageBytes >= PAGE_BYTES) await flush(redoUntil < 0);
  }
  await flush(redoUntil < 0);
  await sendPending(true);
  await checkpoint();
  return { ...totals, resumedAt: resumedAt ?? null, read };
}

/** The slice's items from `at` on (the start when `at` is undefined or the origin); each carries `next`. */
function itemsOf(p: IngestPayload, at: ReadPosition | undefined): AsyncIterable<ReadItem> {
  const from = at && at.line > 0 ? at : undefined;
  const read = { ...p.read, positions: true };
  switch (p.source.kind) {
    // Planned paths are read literally: a name with `*` is that file, never a pattern.
    case 'files':
      return fileItems(p.source.paths, { ...read, ...(p.source.baseDir ? { baseDir: p.source.baseDir } : {}) }, from?.offset ?? 0);
    case 'jsonl':
      return readJsonlRange(p.source.path, { ...read, start: from?.offset ?? p.source.start, end: p.source.end, ...(from ? { startLine: from.line } : {}), ...(p.source.baseDir ? { baseDir: p.source.baseDir } : {}) });
    case 'csv':
      return readCsvFrom(p.source.path, { ...read, ...(from ? { from } : {}), ...(p.source.baseDir ? { baseDir: p.source.baseDir } : {}) });
    case 'records':
      return recordItems(p.source, from?.offset ?? 0);
  }
}

/** The records a job carries from the `first`th on, as documents (their id is the document id); each carries the position after it. */
async function* recordItems(source: Extract<IngestSource, { kind: 'records' }>, first: number): AsyncIterable<ReadItem> {
  for (let i = first; i < source.records.length; i++) {
    const r = source.records[i]!;
    const n = source.seq * RECORDS_PER_JOB + i + 1;
    const next = { offset: i + 1, line: 1 };
    // The producer checked them (recordFromValue); a worker checks again what it is handed.
    const text = normalizeText(r.text);
    if (text.length === 0 || text.includes('\u0000')) {
      yield { kind: 'rejected', path: `${source.label}:${n}`, reason: `record ${n} (id ${JSON.stringify(r.id)}): no text`, next };
      continue;
    }
    yield { kind: 'doc', docId: r.id, source: source.label, text, ...(r.metadata ? { metadata: r.metadata } : {}), record: { at: `${source.label}:${n}`, label: `record ${n}`, id: r.id, pos: `N${n}` }, next };
  }
}

/** The files of a group from the `first`th on; a file's last item carries the position after it (its index + 1). */
async function* fileItems(paths: string[], read: ReadOptions & { baseDir?: string }, first: number): AsyncIterable<ReadItem> {
  for (let i = first; i < paths.length; i++) {
    const items: ReadItem[] = [];
    for await (const item of readFiles([paths[i]!], read)) items.push(item);
    for (let k = 0; k < items.length; k++) yield k === items.length - 1 ? { ...items[k]!, next: { offset: i + 1, line: 1 } } : items[k]!;
  }
}

function describePosition(source: IngestSource, at: ReadPosition): string {
  if (at.line === 0) return 'the start of the slice';
  if (source.kind === 'records') return `record ${at.offset + 1} of ${source.records.length}`;
  return source.kind === 'files' ? `file ${at.offset + 1} of ${source.paths.length}` : `byte ${at.offset} (line ${at.line}${at.row ? `, row ${at.row}` : ''})`;
}

export const ingestJob = defineJob({
  name: 'ingest',
  queue: 'ingest',
  schema: ingestPayloadSchema,
  check: ingestProblem,
  handler: handleIngest,
  attempts: 3,
  backoff: { type: 'exponential', delay: 1000 },
  removeOnComplete: { age: 24 * 3600, count: 1000 },
  removeOnFail: { age: 7 * 24 * 3600 },
  concurrency: (c) => c.worker.ingestConcurrency,
  // Its counters reach the run page by page (RunTracker.checkpoint), not from its result.
  run: { as: 'ingest', counters: false },
  jobId: (p) => contentJobId('ingest', p.runId, JSON.stringify(p.source)),
});

/** Enqueues a run's ingest jobs at once (the run records how many first: see jobs/start-run.ts). */
export async function enqueueIngests(ctx: Context, payloads: IngestPayload[]): Promise<void> {
  await enqueueBulk(ctx, ingestJob, payloads.map((payload) => ({ payload, jobId: idOf(ingestJob, payload) })));
}
