/**
 * deploy/: the Grafana dashboard and the Prometheus alert rules. Both parse; every metric name
 * they query is one that a real `embedq serve` /metrics exposes; promtool accepts the rules and
 * every dashboard query, and its unit tests show each alert firing where it should; and the
 * gauges the alerts are built on read what the database holds.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { runIngest } from '../../src/cli/commands/ingest.ts';
import { runReembedStart } from '../../src/cli/commands/reembed.ts';
import { openServer } from '../../src/server/app.ts';
import { createBatch } from '../../src/store/batches.ts';
import { reserveBudget, setBudget } from '../../src/store/budgets.ts';
import { prose, writeCorpus } from '../support/corpus.ts';
import { describe, expect, test } from '../support/fixtures.ts';
import { parseExposition, type Exposition } from '../support/prom-parse.ts';
import { withSim } from '../support/sim-context.ts';
import type { Context } from '../../src/context.ts';

const ROOT = join(import.meta.dirname, '../..');
const DASHBOARD = join(ROOT, 'deploy/grafana/embedq.json');
const ALERTS = join(ROOT, 'deploy/prometheus/alerts.yml');

interface Panel {
  type: string;
  title: string;
  id: number;
  gridPos: { x: number; y: number; w: number; h: number };
  targets?: { expr: string; refId: string }[];
}
interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels: Record<string, string>;
  annotations: { summary: string; description: string };
}

const dashboard = (): { uid: string; title: string; panels: Panel[] } => JSON.parse(readFileSync(DASHBOARD, 'utf8'));
const rules = (): Rule[] => (parseYaml(readFileSync(ALERTS, 'utf8')) as { groups: { rules: Rule[] }[] }).groups.flatMap((g) => g.rules);
const queries = (): string[] => [...dashboard().panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr)), ...rules().map((r) => r.expr)];

// PromQL words that are not metric names: functions are followed by "(", these are the rest.
const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'and', 'or', 'unless', 'offset', 'bool', 'inf', 'nan']);

/**
 * The metric names a PromQL expression reads. Strings, label matchers (`{…}`), ranges (`[…]`)
 * and the label lists of by/without/on/ignoring are removed first; what is left that is a name
 * not followed by "(" and not a keyword or number is a metric.
 */
export function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = new Set<string>();
  for (const m of bare.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\()?/g)) {
    const [, name, call] = m;
    if (call || KEYWORDS.has(name!.toLowerCase()) || name!.startsWith('$')) continue;
    if (/^\d/.test(name!)) continue;
    names.add(name!);
  }
  return [...names];
}

async function scrape(deps: Pick<Context, 'config' | 'db' | 'logger'>): Promise<Exposition> {
  const server = openServer(deps, { probeTimeoutMs: 10_000 });
  try {
    const res = await server.app.request('/metrics');
    expect(res.status).toBe(200);
    return parseExposition(await res.text());
  } finally {
    await server.close();
  }
}

/** promtool from scripts/promtool.sh (run by scripts/test.sh): $PROMTOOL, PATH, or .tools. */
function promtool(): string {
  if (process.env.PROMTOOL) return process.env.PROMTOOL;
  const local = join(ROOT, '.tools/prometheus/usr/bin/promtool');
  if (existsSync(local)) return local;
  try {
    return execFileSync('sh', ['-c', 'command -v promtool'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error('promtool is missing: run `bash scripts/promtool.sh` (scripts/test.sh does)');
  }
}

describe('deploy files', () => {
  test('metricNames finds the metrics of an expression and nothing else', () => {
    expect(
      metricNames('histogram_quantile(0.95, sum by (le, provider) (rate(embedq_provider_latency_seconds_bucket{provider!="x"}[$__rate_interval]))) > 0.5'),
    ).toEqual(['embedq_provider_latency_seconds_bucket']);
    expect(metricNames('a_total / ignoring(state) b{state="on"} and on (index) delta(c[1h]) <= 0 or d > 12 * 3600')).toEqual(['a_total', 'b', 'c', 'd']);
  });

  test('the dashboard is a Grafana dashboard: panels on a 24-column grid, unique ids, a query per target', () => {
    const d = dashboard();
    expect(d).toMatchObject({ uid: 'embedq', title: 'embedq' });
    const ids = d.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of d.panels) {
      expect(p.gridPos.x + p.gridPos.w, p.title).toBeLessThanOrEqual(24);
      if (p.type === 'row') continue;
      expect(p.targets?.length, p.title).toBeGreaterThan(0);
      for (const t of p.targets!) expect(metricNames(t.expr).length, `${p.title}: ${t.expr}`).toBeGreaterThan(0);
    }
    // What issue #15 asks the dashboard to show, by the metric each panel needs.
    const used = new Set(d.panels.flatMap((p) => (p.targets ?? []).flatMap((t) => metricNames(t.expr))));
    for (const name of [
      'embedq_chunks_embedded_total',
      'embedq_queue_jobs',
      'embedq_provider_requests_total',
      'embedq_provider_rate_limited_total',
      'embedq_provider_errors_total',
      'embedq_provider_latency_seconds_bucket',
      'embedq_cache_hits_total',
      'embedq_spend_usd_total',
      'embedq_provider_batches_open',
      'embedq_reembed_coverage',
    ])
      expect(used, name).toContain(name);
  });

  test('the alert rules parse, and each has a summary and a severity', () => {
    const all = rules();
    expect(all.map((r) => r.alert).sort()).toEqual(
      ['EmbedqBatchPastWindow', 'EmbedqProviderErrors', 'EmbedqProviderRateLimited', 'EmbedqQueueStalled', 'EmbedqReembedStuck', 'EmbedqServiceDown', 'EmbedqTenantBudgetNear'].sort(),
    );
    for (const r of all) {
      expect(r.annotations.summary, r.alert).toBeTruthy();
      expect(['warning', 'critical'], r.alert).toContain(r.labels.severity);
    }
  });

  test('every metric the dashboard and the alerts query is one /metrics exposes', async ({ ctx }) => {
    const exposed = await scrape(ctx);
    const names = new Set<string>();
    for (const f of exposed.families.values()) {
      names.add(f.name);
      if (f.type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(f.name + s);
    }
    const missing = [...new Set(queries().flatMap(metricNames))].filter((n) => !names.has(n));
    expect(missing).toEqual([]);
  });

  test('promtool accepts the rules and every dashboard query, and its unit tests of the alerts pass', () => {
    const tool = promtool();
    const run = (args: string[], cwd = ROOT): string => execFileSync(tool, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    expect(run(['check', 'rules', ALERTS])).toMatch(/SUCCESS: 7 rules found/);
    expect(run(['test', 'rules', 'alerts.test.yml'], join(ROOT, 'deploy/prometheus'))).toMatch(/SUCCESS/);
    // Grafana's interval variables stand for durations; as recording rules promtool parses each query.
    const exprs = dashboard().panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr.replaceAll('$__rate_interval', '5m').replaceAll('$__interval', '1m')));
    const file = join(mkdtempSync(join(tmpdir(), 'embedq-dash-')), 'dashboard-rules.yml');
    writeFileSync(file, JSON.stringify({ groups: [{ name: 'dashboard', rules: exprs.map((expr, i) => ({ record: `embedq:dashboard:q${i}`, expr })) }] }));
    expect(run(['check', 'rules', file])).toMatch(new RegExp(`SUCCESS: ${exprs.length} rules found`));
  });
});

describe('the gauges the alerts read', () => {
  test('budget used, open batches and their age, reembed coverage and time in state read what the database holds', () =>
    withSim(async (_sim, ctx) => {
      const dir = writeCorpus(Object.fromEntries(Array.from({ length: 4 }, (_, i) => [`d${i}.txt`, prose(i + 70, 6)])));
      await runIngest(ctx, { paths: [dir], index: 'kb', chunkTokens: 40, chunkOverlap: 0 });
      const done = await runReembedStart(ctx, { index: 'kb', to: 'openai/text-embedding-3-small', dims: 64, cutover: false });
      expect(done.migration!.state).toBe('ready');

      await setBudget(ctx.db, { tenant: 'acme', usdPerDay: 10, usdPerMonth: null, tokensPerDay: null, tokensPerMonth: 1000, onExceed: 'delay' });
      const hold = await reserveBudget(ctx.db, 'acme', 200, 4, 60_000);
      expect(hold.id).not.toBeNull();

      const { rows: v } = await ctx.db.query<{ id: number; model_version_id: number }>(`SELECT id, model_version_id FROM index_versions ORDER BY id LIMIT 1`);
      const batch = await createBatch(ctx.db, { provider: 'openai', modelVersionId: v[0]!.model_version_id, indexVersionId: v[0]!.id, tenant: 'acme', runId: 'r1', submitJobId: 'job-1' });
      await ctx.db.query(`UPDATE provider_batches SET created_at = now() - interval '2 hours' WHERE id = $1`, [batch]);

      const m = await scrape(ctx);
      expect(m.value('embedq_tenant_budget_used_ratio', { tenant: 'acme', period: 'day', unit: 'usd' })).toBeCloseTo(0.4, 9);
      expect(m.value('embedq_tenant_budget_used_ratio', { tenant: 'acme', period: 'month', unit: 'tokens' })).toBeCloseTo(0.2, 9);
      expect(m.samples('embedq_tenant_budget_used_ratio')).toHaveLength(2); // limits left unset have no series

      expect(m.value('embedq_provider_batches_open', { provider: 'openai', status: 'preparing' })).toBe(1);
      const age = m.value('embedq_provider_batch_oldest_open_seconds', { provider: 'openai', status: 'preparing' });
      expect(age).toBeGreaterThanOrEqual(7200);
      expect(age).toBeLessThan(7200 + 600);

      const { rows: counts } = await ctx.db.query<{ s: number; t: number }>(
        `SELECT (SELECT count(*) FROM "${done.migration!.sourceTable}")::int AS s, (SELECT count(*) FROM "${done.migration!.targetTable}")::int AS t`,
      );
      const coverage = m.samples('embedq_reembed_coverage');
      expect(coverage).toHaveLength(1);
      expect(coverage[0]!.labels).toMatchObject({ index: 'kb', state: 'ready', target_model: expect.stringMatching(/^openai\/text-embedding-3-small/) });
      expect(coverage[0]!.value).toBeCloseTo(counts[0]!.t / counts[0]!.s, 9);
      const since = m.value('embedq_reembed_state_seconds', { index: 'kb', state: 'ready' });
      expect(since).toBeGreaterThanOrEqual(0);
      expect(since).toBeLessThan(600);
    }), 120_000); // a safety net for a loaded machine (an ingest and a reembed), not a bound
});
