import type { Context } from '../../context.ts';
import { tokenizerFor } from '../../corpus/tokenizer.ts';
import { chunkSettings } from '../../pipeline/chunk-settings.ts';
import { estimateRun, type Estimate } from '../../pipeline/estimate.ts';
import { resolveModelWithProbe } from '../../pipeline/probe.ts';
import type { ResolvedModel } from '../../providers/types.ts';
import { assertSafeName } from '../../store/identifiers.ts';
import { getIndex } from '../../store/indexes.ts';
import { usd } from '../output.ts';
import { readFields } from '../parse.ts';
import type { IngestOptions } from './ingest-options.ts';

/** `embedq ingest --dry-run`: the estimate, computed without writing or spending anything. */
export async function runDryRun(ctx: Context, o: IngestOptions): Promise<Estimate & { index: string; modelVersion: string; newIndex: boolean }> {
  const name = assertSafeName(o.index);
  const tenant = o.tenant ?? ctx.config.defaultTenant;
  const existing = await getIndex(ctx.db, name).catch(() => null);
  let model: ResolvedModel;
  if (existing) model = (await ctx.providers.get(existing.live.modelVersionId)).mv.resolved;
  else {
    const id = o.model ?? ctx.config.defaultModel;
    // A dry run spends nothing: a size recorded by an earlier probe, never a new probe.
    model = await resolveModelWithProbe(ctx.db, ctx.config, id, o.dims, { tenant, notice: () => undefined, probe: false });
  }
  const chunkTokenizer = tokenizerFor(existing?.tokenizer ?? model.spec.tokenizer);
  const chunk = existing ? { tokens: existing.chunkTokens, overlap: existing.chunkOverlap } : chunkSettings(o, ctx.config.chunk, model.spec.maxInputTokens);
  const e = await estimateRun({
    db: ctx.db,
    paths: o.paths,
    read: { invalidUtf8: ctx.config.invalidUtf8, ...readFields(o), followSymlinks: o.followSymlinks ?? false },
    indexId: existing?.id ?? null,
    tenant,
    model,
    chunk,
    chunkTokenizer,
    modelTokenizer: tokenizerFor(model.spec.tokenizer),
  });
  return { index: name, modelVersion: model.key, newIndex: !existing, ...e };
}

export function formatDryRun(e: Awaited<ReturnType<typeof runDryRun>>): string {
  return [
    `dry run for ${e.index}${e.newIndex ? ' (new index)' : ''}, ${e.modelVersion}: nothing was written or spent`,
    `  documents ${e.documents} new or changed, ${e.documentsSkipped} unchanged (would be skipped)`,
    `  chunks    ${e.chunks}, of which ${e.cacheHits} already in the cache`,
    `  to embed  ${e.toEmbed} inputs, ${e.tokensToEmbed} tokens`,
    `  cost      sync ${usd(e.estimatedCostUsd.sync)}; batch ${e.estimatedCostUsd.batch === null ? 'n/a (no batch API)' : usd(e.estimatedCostUsd.batch)}`,
    ...(e.rejected.length ? [`  rejected  ${e.rejected.length} (see --json)`] : []),
  ].join('\n');
}
