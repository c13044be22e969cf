import type { Context } from '../../context.ts';
import type { RunState } from '../../queue/runs.ts';
import { coverage } from '../../reembed/controller.ts';
import { currentReembed, reembedHistory, reembedRunId, runSpend, type Reembed } from '../../reembed/store.ts';
import { fmtDuration } from '../progress.ts';

export interface ReembedStatus {
  index: string;
  migration: (Omit<Reembed, 'queries'> & { queries: number | null }) | null;
  coverage: { source: number; target: number; ratio: number } | null;
  rate: number | null;
  etaMs: number | null;
  tokens: number;
  costUsd: number;
  history: { from: string | null; to: string; actor: string; reason: string; at: Date }[];
}

export async function reembedStatus(ctx: Context, index: string): Promise<ReembedStatus> {
  const m = await currentReembed(ctx.db, index);
  if (!m) return { index, migration: null, coverage: null, rate: null, etaMs: null, tokens: 0, costUsd: 0, history: [] };
  const dropped = ['aborted', 'rolled_back', 'retired'].includes(m.state);
  const cov = dropped ? null : await coverage(ctx.db, m);
  const spend = await runSpend(ctx.db, reembedRunId(m));
  const run = await ctx.runs.get(reembedRunId(m));
  const span = run ? backfillSpan(run, Date.now()) : null;
  const rate = cov && span && span.ms > 0 ? (cov.target * 1000) / span.ms : null;
  const etaMs = cov && span && !span.ended && rate && rate > 0 && cov.target < cov.source ? ((cov.source - cov.target) / rate) * 1000 : null;
  const { queries, ...rest } = m;
  return {
    index,
    migration: { ...rest, queries: queries?.length ?? null },
    coverage: cov,
    rate,
    etaMs,
    tokens: spend.tokens,
    costUsd: spend.costUsd,
    history: await reembedHistory(ctx.db, m.id),
  };
}

/**
 * The backfill's own span: from its run's start to when its last write settled (the run's
 * finalize job began: HNSW build and gate come after), or to now while it is still writing.
 * Not the time since the reembed started, which keeps growing after the backfill is done.
 */
export function backfillSpan(run: Pick<RunState, 'startedAt' | 'finalizeStartedAt'>, now: number): { ms: number; ended: boolean } {
  const ended = run.finalizeStartedAt > 0;
  return { ms: (ended ? run.finalizeStartedAt : now) - run.startedAt, ended };
}

export function formatReembedStatus(s: ReembedStatus): string {
  const m = s.migration;
  if (!m) return `index ${s.index} has no reembed`;
  const lines = [
    `reembed ${m.id} of ${s.index}: ${m.sourceModel} → ${m.targetModel}  [${m.state}${m.forced ? ', forced' : ''}]`,
    s.coverage
      ? `  coverage  ${(s.coverage.ratio * 100).toFixed(2)}% (${s.coverage.target}/${s.coverage.source} rows, needs ${(m.coverageThreshold * 100).toFixed(0)}%)${s.rate ? `, ${s.rate.toFixed(0)} rows/s` : ''}${s.etaMs ? `, ETA ${fmtDuration(s.etaMs)}` : ''}`
      : '  coverage  - (target dropped)',
    `  spend     ${s.tokens} tokens, $${s.costUsd.toFixed(6)} (${m.mode} mode)`,
  ];
  if (m.quality) {
    const q = m.quality;
    lines.push(
      `  gate      ${q.passed ? 'PASSED' : 'NOT PASSED'}: ${q.reason}`,
      `            source recall@${q.k} ${q.source.recall.toFixed(3)} MRR ${q.source.mrr.toFixed(3)} | target recall@${q.k} ${q.target.recall.toFixed(3)} MRR ${q.target.mrr.toFixed(3)} (${q.n} ${q.method === 'queries' ? 'user queries' : 'sampled chunks'})`,
    );
  }
  lines.push('  history');
  for (const h of s.history) lines.push(`    ${new Date(h.at).toISOString()}  ${h.from ?? '-'} → ${h.to}  by ${h.actor}: ${h.reason}`);
  if (m.state === 'validating' && m.quality && !m.quality.passed) lines.push(`  next      fix and restart, \`embedq reembed abort --index ${s.index}\`, or \`embedq reembed cutover --index ${s.index} --force\``);
  if (m.state === 'ready') lines.push(`  next      \`embedq reembed cutover --index ${s.index}\``);
  if (m.state === 'cut_over') lines.push(`  next      \`embedq reembed retire --index ${s.index}\` to drop the old index, or \`rollback\``);
  return lines.join('\n');
}
