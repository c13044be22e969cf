import { randomBytes } from 'node:crypto';
import { sep } from 'node:path';
import type { Command } from 'commander';
import type { Context } from '../../context.ts';
import { UsageError } from '../../errors.ts';
import { startWorkers, type RunningWorkers } from '../../../workers/runtime.ts';
import { planSources } from '../../pipeline/plan.ts';
import { overridesFor, resolveModel } from '../../providers/models.ts';
import { pingRedis } from '../../queue/connection.ts';
import { contentJobId } from '../../queue/names.ts';
import { createQueues, type Queues } from '../../queue/producer.ts';
import { RunTracker, type RunState } from '../../queue/runs.ts';
import { assertSafeName } from '../../store/identifiers.ts';
import { ensureIndex, getIndex } from '../../store/indexes.ts';
import { schemaState } from '../../store/migrate.ts';
import { upsertModelVersion } from '../../store/models.ts';
import type { CommandEnv } from '../main.ts';
import { Progress } from '../progress.ts';
import type { IngestPayload } from '../../../jobs/ingest.ts';

export interface IngestOptions {
  paths: string[];
  index: string;
  model?: string | undefined;
  dims?: number | undefined;
  tenant?: string | undefined;
  chunkTokens?: number | undefined;
  chunkOverlap?: number | undefined;
  /** JSONL field / CSV column holding the text. @default text */
  textField?: string | undefined;
  /** JSONL field / CSV column holding the document id. @default id */
  idField?: string | undefined;
  wait?: boolean;
  localWorker?: boolean;
  progress?: boolean;
}

export interface IngestSummary {
  runId: string;
  index: string;
  modelVersion: string;
  documents: number;
  documentsSkipped: number;
  chunks: number;
  cacheHits: number;
  embedded: number;
  tokens: number;
  costUsd: number;
  truncated: number;
  split: number;
  failedJobs: number;
  rejected: { path: string; reason: string }[];
  durationMs: number;
  /** Time spent building the HNSW index after the load (0 when none was built by this run). */
  indexBuildMs: number;
  waited: boolean;
}

const TENANT = /^[a-z0-9][a-z0-9_-]{0,62}$/;

/** `embedq ingest`: plans and enqueues the run, then (unless told not to) waits for it with a progress bar. */
export async function runIngest(ctx: Context, o: IngestOptions): Promise<IngestSummary> {
  const started = Date.now();
  const name = assertSafeName(o.index);
  const tenant = o.tenant ?? ctx.config.defaultTenant;
  if (!TENANT.test(tenant)) throw new UsageError(`tenant ${JSON.stringify(tenant)} is not a safe identifier: use lower-case letters, digits, _ and - (at most 63), e.g. "acme"`);
  if (o.paths.length === 0) throw new UsageError('give at least one path, directory or glob to ingest');
  await pingRedis(ctx.config.redisUrl);
  const schema = await schemaState(ctx.db, ctx.config.dbSchema);
  if (schema.pending.length) throw new UsageError(`the database schema ${ctx.config.dbSchema} is not up to date (${schema.pending.length} pending migrations): run \`embedq db migrate\` first`);

  const existing = await getIndex(ctx.db, name);
  if (existing && ((o.chunkTokens !== undefined && o.chunkTokens !== existing.chunkTokens) || (o.chunkOverlap !== undefined && o.chunkOverlap !== existing.chunkOverlap)))
    throw new UsageError(
      `index ${name} chunks at ${existing.chunkTokens} tokens with ${existing.chunkOverlap} overlap; chunk settings are fixed when an index is created (use a new index name to chunk differently)`,
    );
  const modelId = o.model ?? (existing ? undefined : ctx.config.defaultModel);
  let modelKey = existing?.live.modelKey;
  if (modelId) {
    const resolved = resolveModel(modelId, o.dims, overridesFor(ctx.config.models, modelId));
    if (existing && existing.live.modelKey !== resolved.key)
      throw new UsageError(`index ${name} holds ${existing.live.modelKey} vectors, not ${resolved.key}: to move it to another model use \`embedq reembed start --index ${name} --to ${modelId}\``);
    if (!existing) {
      const mvId = await upsertModelVersion(ctx.db, {
        key: resolved.key,
        provider: resolved.spec.provider,
        model: resolved.spec.model,
        version: resolved.spec.version,
        dims: resolved.dims,
        nativeDims: resolved.spec.nativeDims,
        dimAdapter: resolved.dimAdapter,
        normalization: 'nfc-lf-trim-v1',
        maxInputTokens: resolved.spec.maxInputTokens,
        priceSyncPerMTok: resolved.spec.priceSyncPerMTok,
        priceBatchPerMTok: resolved.spec.priceBatchPerMTok,
      });
      const chunkTokens = Math.min(o.chunkTokens ?? ctx.config.chunk.tokens, resolved.spec.maxInputTokens);
      const chunkOverlap = Math.min(o.chunkOverlap ?? ctx.config.chunk.overlap, Math.floor(chunkTokens / 2));
      await ensureIndex(ctx.db, { name, chunkTokens, chunkOverlap, tokenizer: resolved.spec.tokenizer, modelVersionId: mvId, dims: resolved.dims });
      modelKey = resolved.key;
    }
  }

  const plan = await planSources(o.paths);
  const runId = `${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
  const runs = new RunTracker(ctx.redis, ctx.config.redisPrefix);
  const queues = createQueues(ctx.redis, ctx.config.redisPrefix);
  let local: RunningWorkers | undefined;
  try {
    await runs.create(runId, { index: name, tenant, ingestJobs: plan.sources.length });
    await runs.reject(runId, plan.rejected);
    const fields = { ...(o.textField ? { textField: o.textField } : {}), ...(o.idField ? { idField: o.idField } : {}) };
    const read = {
      invalidUtf8: ctx.config.invalidUtf8,
      jsonl: fields,
      csv: { ...(o.textField ? { textColumn: o.textField } : {}), ...(o.idField ? { idColumn: o.idField } : {}) },
    };
    await queues.ingest.addBulk(
      plan.sources.map((s) => {
        // Document ids are paths relative to the working directory when inside it, else absolute.
        const cwd = process.cwd() + sep;
        const source = s.kind === 'files' && s.paths.every((p) => p.startsWith(cwd)) ? { ...s, baseDir: process.cwd() } : s;
        const data: IngestPayload = { runId, index: name, tenant, source, read };
        return { name: 'ingest', data, opts: { jobId: contentJobId('ingest', runId, JSON.stringify(source)) } };
      }),
    );
    const waited = o.wait !== false && plan.sources.length > 0;
    if (waited) {
      if (o.localWorker !== false && (await queues.embed.getWorkersCount()) === 0) local = await startWorkers(ctx, { name: `embedq-ingest-${process.pid}` });
      await waitForRun(runs, queues, runId, new Progress(o.progress ?? false), local !== undefined);
    }
    const s = (await runs.get(runId))!;
    return summarize(s, modelKey ?? '', waited, Date.now() - started);
  } finally {
    await local?.close();
    await queues.close();
  }
}

export interface RetrySummary {
  retried: number;
  runs: string[];
  failedJobs: number;
  embedded: number;
  durationMs: number;
}

/**
 * `embedq ingest --retry-failed`: puts every finally-failed ingest and embed job back in the
 * queue (same ids, so their runs count them once) and waits for their runs to settle again.
 */
export async function runRetryFailed(ctx: Context, o: { wait?: boolean; localWorker?: boolean; progress?: boolean }): Promise<RetrySummary> {
  const started = Date.now();
  await pingRedis(ctx.config.redisUrl);
  const runs = new RunTracker(ctx.redis, ctx.config.redisPrefix);
  const queues = createQueues(ctx.redis, ctx.config.redisPrefix);
  let local: RunningWorkers | undefined;
  try {
    const failed = [...(await queues.ingest.getFailed(0, -1)), ...(await queues.embed.getFailed(0, -1))];
    const runIds = [...new Set(failed.map((j) => (j.data as { runId: string }).runId))];
    const before = new Map<string, number>();
    for (const id of runIds) {
      before.set(id, (await runs.get(id))?.embedded ?? 0);
      await runs.reopen(id);
      // The run's finalize job ran already; remove it so settling the retried jobs enqueues it again.
      await queues.finalize.remove(`finalize-${id}`);
    }
    for (const job of failed) await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
    if (o.wait !== false && failed.length) {
      if (o.localWorker !== false && (await queues.embed.getWorkersCount()) === 0) local = await startWorkers(ctx, { name: `embedq-retry-${process.pid}` });
      for (const id of runIds) await waitForRun(runs, queues, id, new Progress(o.progress ?? false), local !== undefined);
    }
    let failedJobs = 0;
    let embedded = 0;
    for (const id of runIds) {
      const s = await runs.get(id);
      failedJobs += s?.failedJobs ?? 0;
      embedded += (s?.embedded ?? 0) - (before.get(id) ?? 0);
    }
    return { retried: failed.length, runs: runIds, failedJobs, embedded, durationMs: Date.now() - started };
  } finally {
    await local?.close();
    await queues.close();
  }
}

async function waitForRun(runs: RunTracker, queues: Queues, runId: string, progress: Progress, localWorker: boolean): Promise<void> {
  let idlePolls = 0;
  for (;;) {
    const s = (await runs.get(runId))!;
    progress.update({
      done: s.embedSettled,
      total: s.embedJobs,
      label: 'embed batches',
      extra: `docs ${s.documents + s.documentsSkipped}  chunks ${s.chunks}  cache hits ${s.cacheHits}  embedded ${s.embedded}${s.failedJobs ? `  FAILED JOBS ${s.failedJobs}` : ''}`,
    });
    if (s.finalized) break;
    // Safety net: if every queue is empty and nothing moves, a settle was lost (e.g. a worker
    // died between failing a job and recording it); stop waiting rather than hang.
    const counts = await Promise.all([queues.ingest, queues.embed, queues.finalize].map((q) => q.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'waiting-children')));
    const pending = counts.reduce((a, c) => a + Object.values(c).reduce((x, y) => x + y, 0), 0);
    idlePolls = pending === 0 ? idlePolls + 1 : 0;
    if (idlePolls >= (localWorker ? 20 : 120)) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  progress.done();
}

function summarize(s: RunState, modelVersion: string, waited: boolean, durationMs: number): IngestSummary {
  return {
    runId: s.id,
    index: s.index,
    modelVersion,
    documents: s.documents,
    documentsSkipped: s.documentsSkipped,
    chunks: s.chunks,
    cacheHits: s.cacheHits,
    embedded: s.embedded,
    tokens: s.tokens,
    costUsd: s.costNanoUsd / 1e9,
    truncated: s.truncated,
    split: s.split,
    failedJobs: s.failedJobs,
    rejected: s.rejected.sort((a, b) => a.path.localeCompare(b.path)),
    durationMs,
    indexBuildMs: s.finalizedAt && s.finalizeStartedAt ? s.finalizedAt - s.finalizeStartedAt : 0,
    waited,
  };
}

export function formatIngest(s: IngestSummary): string {
  const lines = [
    s.waited ? `indexed into ${s.index} (${s.modelVersion}) in ${(s.durationMs / 1000).toFixed(1)}s` : `run ${s.runId} enqueued for ${s.index}; \`embedq worker\` will process it`,
    `  documents ${s.documents} new or changed, ${s.documentsSkipped} unchanged (skipped)`,
    `  chunks    ${s.chunks} written, ${s.cacheHits} from cache, ${s.embedded} embedded`,
    `  tokens    ${s.tokens} embedded, cost $${s.costUsd.toFixed(6)}${s.truncated || s.split ? `; over-long inputs: ${s.truncated} truncated, ${s.split} split` : ''}`,
  ];
  if (s.rejected.length) lines.push(`  rejected  ${s.rejected.length}:`, ...s.rejected.slice(0, 20).map((r) => `    ${r.path}: ${r.reason}`), ...(s.rejected.length > 20 ? [`    … and ${s.rejected.length - 20} more (--json lists all)`] : []));
  if (s.failedJobs) lines.push(`  FAILED    ${s.failedJobs} jobs failed after retries: see \`embedq status\`, retry with \`embedq ingest --retry-failed\``);
  return lines.join('\n');
}

export function register(program: Command, env: CommandEnv): void {
  program
    .command('ingest')
    .description('index files, directories, globs, .jsonl and .csv into an index; unchanged documents and cached chunks cost nothing')
    .argument('[paths...]', 'files, directories or globs (text, Markdown, .jsonl records, .csv with a text column)')
    .option('--index <name>', 'index to write (created on first use): lower-case letters, digits, _')
    .option('--model <provider/model>', 'embedding model for a new index (default: config defaultModel, local/hash-v1)')
    .option('--dims <n>', 'output dimensions (default: the model\'s native size)', (v) => parseInt(v, 10))
    .option('--tenant <id>', 'tenant the documents belong to (default: config defaultTenant)')
    .option('--chunk-tokens <n>', 'tokens per chunk for a new index (default: config chunk.tokens)', (v) => parseInt(v, 10))
    .option('--chunk-overlap <n>', 'overlap tokens for a new index (default: config chunk.overlap)', (v) => parseInt(v, 10))
    .option('--text-field <name>', 'JSONL field or CSV column with the text (default: text)')
    .option('--id-field <name>', 'JSONL field or CSV column with the document id (default: id)')
    .option('--no-wait', 'only enqueue; `embedq worker` processes the run')
    .option('--no-local-worker', 'never start an in-process worker, even when none is running')
    .option('--retry-failed', 'put every job that failed after its retries back in the queue and wait for their runs')
    .option('--json', 'print one JSON summary at the end')
    .addHelpText('after', '\nExamples:\n  embedq ingest docs/ README.md --index docs\n  embedq ingest "data/**/*.jsonl" --index kb --model openai/text-embedding-3-small --dims 512\n  embedq ingest corpus.csv --index support --tenant acme --json\n  embedq ingest --retry-failed')
    .action(
      env.handler(async (ctx, out, paths: string[], opts: { index?: string; model?: string; dims?: number; tenant?: string; chunkTokens?: number; chunkOverlap?: number; textField?: string; idField?: string; wait: boolean; localWorker: boolean; retryFailed?: boolean }) => {
        if (opts.retryFailed) {
          const r = await runRetryFailed(ctx, { wait: opts.wait, localWorker: opts.localWorker, progress: !out.json });
          out.result(r, (v) => `retried ${v.retried} failed jobs of ${v.runs.length} runs: ${v.embedded} chunks embedded, ${v.failedJobs} jobs still failed`);
          return r.failedJobs > 0 ? 1 : 0;
        }
        if (!opts.index) throw new UsageError('--index <name> is required (the index to write)');
        if (opts.dims !== undefined && (!Number.isInteger(opts.dims) || opts.dims < 1)) throw new UsageError('--dims must be a positive whole number');
        if (opts.chunkTokens !== undefined && (!Number.isInteger(opts.chunkTokens) || opts.chunkTokens < 4))
          throw new UsageError('--chunk-tokens must be a whole number of at least 4');
        if (opts.chunkOverlap !== undefined && (!Number.isInteger(opts.chunkOverlap) || opts.chunkOverlap < 0 || opts.chunkOverlap >= (opts.chunkTokens ?? ctx.config.chunk.tokens)))
          throw new UsageError('--chunk-overlap must be a whole number from 0 to less than the chunk size');
        const s = await runIngest(ctx, { paths, ...opts, index: opts.index, progress: !out.json });
        out.result(s, formatIngest);
        return s.failedJobs > 0 ? 1 : 0;
      }),
    );
}
