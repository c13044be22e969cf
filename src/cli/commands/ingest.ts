import type { Command } from 'commander';
import type { Context } from '../../context.ts';
import { UsageError } from '../../errors.ts';
import { assertTenant } from '../../tenant.ts';
import { inSpan } from '../../telemetry.ts';
import { requireApiKey } from '../../providers/credentials.ts';
import { requireDeployments } from '../../providers/deployments.ts';
import { chunkSettings } from '../../pipeline/chunk-settings.ts';
import { estimateChunks, resolveMode } from '../../pipeline/mode.ts';
import { resolveModelWithProbe } from '../../pipeline/probe.ts';
import { planSources } from '../../pipeline/plan.ts';
import { pingRedis } from '../../queue/connection.ts';
import type { RunState } from '../../queue/runs.ts';
import { assertSafeName } from '../../store/identifiers.ts';
import { ensureIndex, getIndex } from '../../store/indexes.ts';
import { assertIndexableDims } from '../../store/vector-type.ts';
import { schemaState } from '../../store/migrate.ts';
import { upsertResolvedModel } from '../../store/models.ts';
import type { CommandEnv } from '../command.ts';
import { wholeNumber } from '../numbers.ts';
import { parseMode, readFields } from '../parse.ts';
import { runAndWait } from '../run-wait.ts';
import { formatDryRun, runDryRun } from './ingest-dry-run.ts';
import type { IngestOptions } from './ingest-options.ts';
import { runRetryFailed } from './ingest-retry.ts';
import { startRecordsRun, startRun } from '../../../jobs/start-run.ts';
import { packRecords, type RecordPack } from '../../pipeline/records.ts';

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
  /** The mode the run used (auto resolved). */
  mode: 'sync' | 'batch';
}

/** No input gave anything to read (all missing, no glob match, only unsupported or refused files). Exit code 1. */
export class NothingToIngestError extends Error {
  override name = 'NothingToIngestError';
  readonly rejected: { path: string; reason: string }[];
  constructor(rejected: { path: string; reason: string }[], what: 'files' | 'records' = 'files') {
    super(
      what === 'records'
        ? `nothing to ingest: the records hold no valid record (${rejected.length} rejected${rejected[0] ? `, the first: ${rejected[0].reason}` : ''}); no index or run was created`
        : rejected.length
          ? `nothing to ingest: none of the inputs gave a file to read (${rejected.length} rejected); no index or run was created`
          : 'nothing to ingest: the inputs hold no supported files (.txt .md .markdown .mdx .rst .text .jsonl .ndjson .csv); no index or run was created',
    );
    this.rejected = rejected;
  }
}

/**
 * `embedq ingest`: plans and enqueues the run, then (unless told not to) waits for it with a
 * progress bar. With tracing on, the run is one trace: this span is its root, and every job of
 * the run is a child, in whichever worker runs it.
 */
export function runIngest(ctx: Context, o: IngestOptions): Promise<IngestSummary> {
  return inSpan(`ingest ${o.index}`, { attributes: { 'embedq.index': o.index, 'embedq.tenant': o.tenant ?? ctx.config.defaultTenant } }, async (span) => {
    const s = await ingestRun(ctx, o);
    span.set({ 'embedq.run_id': s.runId, 'embedq.model_version': s.modelVersion, 'embedq.mode': s.mode, 'embedq.inputs': s.chunks, 'embedq.cache_hits': s.cacheHits, 'embedq.cost_usd': s.costUsd });
    return s;
  });
}

async function ingestRun(ctx: Context, o: IngestOptions): Promise<IngestSummary> {
  const started = Date.now();
  const name = assertSafeName(o.index);
  const tenant = assertTenant(o.tenant ?? ctx.config.defaultTenant);
  if (o.records !== undefined && o.paths.length > 0) throw new UsageError('give either paths or records to ingest, not both');
  if (o.records === undefined && o.paths.length === 0) throw new UsageError('give at least one path, directory or glob to ingest');
  if (o.records !== undefined && o.mode === 'auto') throw new UsageError('mode auto picks by the size of the input, which records that stream in do not have: choose sync or batch');
  await pingRedis(ctx.config.redisUrl);
  const schema = await schemaState(ctx.db, ctx.config.dbSchema);
  if (schema.pending.length) throw new UsageError(`the database schema ${ctx.config.dbSchema} is not up to date (${schema.pending.length} pending migrations): run \`embedq db migrate\` first`);

  const existing = await getIndex(ctx.db, name);
  if (existing && ((o.chunkTokens !== undefined && o.chunkTokens !== existing.chunkTokens) || (o.chunkOverlap !== undefined && o.chunkOverlap !== existing.chunkOverlap)))
    throw new UsageError(
      `index ${name} chunks at ${existing.chunkTokens} tokens with ${existing.chunkOverlap} overlap; chunk settings are fixed when an index is created (use a new index name to chunk differently)`,
    );
  const modelId = o.model ?? (existing ? undefined : ctx.config.defaultModel);
  const notice = o.notice ?? ((line: string) => ctx.logger.info(line));
  const resolved = modelId ? await resolveModelWithProbe(ctx.db, ctx.config, modelId, o.dims, { tenant, notice }) : undefined;
  if (existing && resolved && existing.live.modelKey !== resolved.key)
    throw new UsageError(`index ${name} holds ${existing.live.modelKey} vectors, not ${resolved.key}: to move it to another model use \`embedq reembed start --index ${name} --to ${modelId}\``);
  const modelKey = existing?.live.modelKey ?? resolved!.key;
  if (resolved && !existing) assertIndexableDims(resolved.dims);
  // The provider's key, before anything is created or enqueued: the workers would only find out after their retries.
  requireApiKey(modelKey.split('/')[0]!, ctx.config, modelKey);
  if (resolved) requireDeployments(resolved, ctx.config);
  // Nothing readable: say so with the reasons, and create nothing (no index, no run).
  const label = o.recordsLabel ?? 'records';
  const records = o.records === undefined ? undefined : await firstPack(packRecords(o.records, label));
  const plan = records ? undefined : await planSources(o.paths, { followSymlinks: o.followSymlinks ?? false });
  if (plan && plan.sources.length === 0) throw new NothingToIngestError(plan.rejected);
  if (resolved && !existing) {
    const mvId = await upsertResolvedModel(ctx.db, resolved);
    const chunk = chunkSettings(o, ctx.config.chunk, resolved.spec.maxInputTokens);
    await ensureIndex(ctx.db, { name, chunkTokens: chunk.tokens, chunkOverlap: chunk.overlap, tokenizer: resolved.spec.tokenizer, modelVersionId: mvId, dims: resolved.dims });
  }

  const live = (await getIndex(ctx.db, name))!;
  const read = { invalidUtf8: ctx.config.invalidUtf8, ...readFields(o) };
  const waitFor = (runId: string, before?: () => Promise<unknown>) =>
    runAndWait(ctx, runId, {
      label: 'ingest',
      localWorker: o.localWorker,
      progress: o.progress,
      replaceLostWorker: true,
      onInterrupt: o.exitOnInterrupt ? (released) => interrupted(runId, released) : undefined,
      before,
    });
  let runId: string;
  let mode: 'sync' | 'batch';
  let waited = o.wait !== false;
  if (records) {
    mode = await resolveMode(o.mode ?? 'sync', live.live.modelKey, async () => false, ctx.config.providers);
    const producer = await startRecordsRun(ctx, { index: name, tenant, label, read, mode, packs: records });
    runId = producer.runId;
    // The jobs are worked on while the records are still read; the wait starts when all are in.
    if (waited) await waitFor(runId, producer.produce);
    else await producer.produce();
  } else {
    const r = await startRun(ctx, {
      index: name,
      tenant,
      paths: o.paths,
      read,
      plan,
      // auto: batch when the run's estimated chunks reach batch.autoThreshold.
      mode: (sources) => resolveMode(o.mode ?? 'sync', live.live.modelKey, async () => (await estimateChunks(sources, live.chunkTokens)) >= ctx.config.batch.autoThreshold, ctx.config.providers),
    });
    ({ runId, mode } = r);
    waited &&= r.jobs > 0;
    if (waited) await waitFor(runId);
  }
  const s = (await ctx.runs.get(runId))!;
  return { ...summarize(s, modelKey, waited, Date.now() - started), mode };
}

/**
 * The packs of a record stream, with the first one read already: a stream that gives no record
 * at all is refused (with its rejections) before any index or run is created.
 */
async function firstPack(packs: AsyncGenerator<RecordPack>): Promise<AsyncIterable<RecordPack>> {
  const first = await packs.next();
  if (first.done || first.value.records.length === 0) throw new NothingToIngestError(first.done ? [] : first.value.rejected, 'records');
  return (async function* () {
    yield first.value;
    yield* packs;
  })();
}

/** What an interrupted ingest says: what was released and how the run can be finished. */
function interrupted(runId: string, released: number | undefined): string[] {
  if (released === undefined) return [`stopped waiting for run ${runId}; it goes on in the running \`embedq worker\` processes (see \`embedq status\`)`];
  return [
    `run ${runId} interrupted: ${released} active job${released === 1 ? '' : 's'} moved back to the queue; nothing done so far is lost`,
    'to resume, start `embedq worker` (it finishes the queued jobs), or run the same `embedq ingest` command again (finished documents are skipped)',
  ];
}

function summarize(s: RunState, modelVersion: string, waited: boolean, durationMs: number): Omit<IngestSummary, 'mode'> {
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
    s.waited
      ? `indexed into ${s.index} (${s.modelVersion}, ${s.mode} mode) in ${(s.durationMs / 1000).toFixed(1)}s`
      : `run ${s.runId} enqueued for ${s.index} (${s.mode} mode); \`embedq worker\` will process it`,
    `  documents ${s.documents} new or changed, ${s.documentsSkipped} unchanged (skipped)`,
    `  chunks    ${s.chunks} written, ${s.cacheHits} from cache, ${s.embedded} embedded`,
    `  tokens    ${s.tokens} embedded, cost $${s.costUsd.toFixed(6)}${s.truncated || s.split ? `; over-long inputs: ${s.truncated} truncated, ${s.split} split` : ''}`,
  ];
  if (s.rejected.length) lines.push(`  rejected  ${s.rejected.length}:`, ...rejectedLines(s.rejected));
  if (nothingRead(s)) lines.push('  NOTHING   was indexed: every document was rejected (reasons above)');
  if (s.failedJobs) lines.push(`  FAILED    ${s.failedJobs} jobs failed after retries: see \`embedq status\`, retry with \`embedq ingest --retry-failed\``);
  return lines.join('\n');
}

/** Up to 20 rejections, one line each, then how many more. */
function rejectedLines(rejected: { path: string; reason: string }[]): string[] {
  return [...rejected.slice(0, 20).map((r) => `    ${r.path}: ${r.reason}`), ...(rejected.length > 20 ? [`    … and ${rejected.length - 20} more (--json lists all)`] : [])];
}

/** A finished run that read no document at all, only rejections: the command fails. */
function nothingRead(s: IngestSummary): boolean {
  return s.waited && s.documents + s.documentsSkipped === 0 && s.rejected.length > 0;
}

export function register(program: Command, env: CommandEnv): void {
  program
    .command('ingest')
    .description('index files, directories, globs, .jsonl and .csv into an index; unchanged documents and cached chunks cost nothing')
    .argument('[paths...]', 'files, directories or globs (text, Markdown, .jsonl records, .csv with a text column)')
    .option('--index <name>', 'index to write (created on first use): lower-case letters, digits, _')
    .option('--model <provider/model>', 'embedding model for a new index (default: config defaultModel, local/hash-v1)')
    .option('--dims <n>', 'output dimensions (default: the model\'s native size)', wholeNumber('--dims', { min: 1 }))
    .option('--tenant <id>', 'tenant the documents belong to (default: config defaultTenant)')
    .option('--chunk-tokens <n>', 'tokens per chunk for a new index (default: config chunk.tokens)', wholeNumber('--chunk-tokens', { min: 4 }))
    .option('--chunk-overlap <n>', 'overlap tokens for a new index (default: config chunk.overlap)', wholeNumber('--chunk-overlap'))
    .option('--mode <mode>', 'sync (embed now), batch (the provider\'s batch API: OpenAI and Mistral half price, Voyage a third off; results within 12-24 h; `embedq models` lists which have one) or auto (batch when the run is large and the provider has one)', 'sync')
    .option('--text-field <name>', 'JSONL field or CSV column with the text (default: text)')
    .option('--id-field <name>', 'JSONL field or CSV column with the document id (default: id)')
    .option('--metadata-columns <a,b,...>', 'CSV columns kept as each row\'s metadata, shown by search and matched by search --filter (default: every column but the text and id; JSONL records carry their "metadata" object)')
    .option('--global-ids', 'JSONL/CSV ids are unique across files: id 1 is one document wherever it is, and a repeated id is rejected (default: ids are scoped by their file, <file>#1)')
    .option('--follow-symlinks', 'read links that lead out of the given folders and walk links to directories (default: such links are reported as rejected; /proc, /sys and /dev are never read)')
    .option('--no-wait', 'only enqueue; `embedq worker` processes the run')
    .option('--no-local-worker', 'never start an in-process worker, even when none is running')
    .option('--dry-run', 'print documents, chunks, cache hits, tokens to embed and the estimated cost (sync and batch) without writing or spending anything')
    .option('--retry-failed', 'put every job that failed after its retries back in the queue and wait for their runs')
    .option('--json', 'print one JSON summary at the end')
    .addHelpText('after', '\nExamples:\n  embedq ingest docs/ README.md --index docs\n  embedq ingest "data/**/*.jsonl" --index kb --model openai/text-embedding-3-small --dims 512\n  embedq ingest corpus.csv --index support --tenant acme --json\n  embedq ingest ~/notes --index notes --follow-symlinks\n  embedq ingest --retry-failed')
    .action(
      env.handler(async (ctx, out, paths: string[], opts: { index?: string; model?: string; dims?: number; tenant?: string; chunkTokens?: number; chunkOverlap?: number; textField?: string; idField?: string; metadataColumns?: string; globalIds?: boolean; followSymlinks?: boolean; mode: string; wait: boolean; localWorker: boolean; retryFailed?: boolean; dryRun?: boolean }) => {
        if (opts.retryFailed) {
          const r = await runRetryFailed(ctx, { wait: opts.wait, localWorker: opts.localWorker, progress: !out.json });
          out.result(r, (v) => `retried ${v.retried} failed jobs of ${v.runs.length} runs: ${v.embedded} chunks embedded, ${v.failedJobs} jobs still failed`);
          return r.failedJobs > 0 ? 1 : 0;
        }
        if (!opts.index) throw new UsageError('--index <name> is required (the index to write)');
        if (opts.chunkOverlap !== undefined && opts.chunkOverlap >= (opts.chunkTokens ?? ctx.config.chunk.tokens))
          throw new UsageError(`--chunk-overlap must be less than the chunk size (${opts.chunkTokens ?? ctx.config.chunk.tokens} tokens), got ${opts.chunkOverlap}`);
        if (opts.dryRun) {
          out.result(await runDryRun(ctx, { paths, ...opts, index: opts.index, mode: undefined }), formatDryRun);
          return 0;
        }
        const mode = parseMode(opts.mode);
        let s: IngestSummary;
        try {
          s = await runIngest(ctx, { paths, ...opts, index: opts.index, mode, progress: !out.json, exitOnInterrupt: true, notice: (line) => process.stderr.write(`embedq: ${line}\n`) });
        } catch (e) {
          if (!(e instanceof NothingToIngestError)) throw e;
          if (out.json) process.stdout.write(`${JSON.stringify({ ok: false, error: e.message, rejected: e.rejected }, null, 2)}\n`);
          else process.stderr.write(`embedq: ${e.message}\n${e.rejected.length ? `${rejectedLines(e.rejected).join('\n')}\n` : ''}`);
          return 1;
        }
        out.result(s, formatIngest);
        return s.failedJobs > 0 || nothingRead(s) ? 1 : 0;
      }),
    );
}
