/**
 * The status page at `/` of `embedq serve`, behind the admin token: one server-rendered HTML
 * page, no scripts, no front-end build. It shows the indexes, open reembeds with their coverage
 * and gate numbers, open provider batches, the last 30 days of spend by tenant as an SVG chart,
 * the cache-hit ratio, and links to Bull Board and the JSON endpoints. Every figure comes from
 * the same store functions the CLI and /metrics read.
 */
import type { Hono } from 'hono';
import type { Context } from '../context.ts';
import { coverage } from '../reembed/controller.ts';
import { openReembeds } from '../reembed/store.ts';
import { packageVersion } from '../paths.ts';
import { listBatches } from '../store/batches.ts';
import { countRowsUpTo, listLiveIndexes } from '../store/indexes.ts';
import { cacheHits, callTotals } from '../store/ledger-read.ts';
import { spendBy } from '../store/spend.ts';
import { ADMIN_PATH } from './admin.ts';
import { requireAdmin } from './auth.ts';

/** No scripts at all; the page's one stylesheet is inline. */
const PAGE_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'X-Frame-Options': 'DENY',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
};

/** Rows counted exactly per index; a larger index shows "more than" this. */
export const COUNT_CAP = 1_000_000;

/** Days of spend the chart shows, today included (UTC). */
export const SPEND_DAYS = 30;

/** What the page shows, gathered in one place (the test reads the same figures from the database). */
export interface StatusPageData {
  version: string;
  /** `rows` exact up to {@link COUNT_CAP} (`moreRows` when the table holds more). */
  indexes: { name: string; modelVersion: string; dims: number; rows: number; moreRows: boolean; state: string }[];
  reembeds: { index: string; from: string; to: string; state: string; coverage: { source: number; target: number; ratio: number }; threshold: number; quality: { method: string; k: number; sourceRecall: number; targetRecall: number; floor: number; passed: boolean; reason: string } | null }[];
  batches: { id: string; provider: string; tenant: string; status: string; inputs: number; completed: number; failed: number; submittedAt: Date | null }[];
  spend: { days: string[]; tenants: string[]; usd: Record<string, Record<string, number>>; totalUsd: number };
  cache: { hits: number; embedded: number; ratio: number };
}

export async function statusPageData(ctx: Pick<Context, 'config' | 'db'>, now = new Date()): Promise<StatusPageData> {
  const db = ctx.db;
  const since = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() - (SPEND_DAYS - 1)));
  const [indexes, open, batches, spendRows, calls] = await Promise.all([
    listLiveIndexes(db, ctx.config.dbSchema),
    openReembeds(db),
    listBatches(db, { open: true, limit: 50 }),
    spendBy(db, 'day', { since, thenBy: 'tenant' }),
    callTotals(db),
  ]);
  const [covered, counts] = await Promise.all([Promise.all(open.map((m) => coverage(db, m))), countRowsUpTo(db, indexes.map((i) => i.tableName), COUNT_CAP + 1)]);
  const days = Array.from({ length: SPEND_DAYS }, (_, i) => new Date(since.getTime() + i * 86_400_000).toISOString().slice(0, 10));
  const usd: Record<string, Record<string, number>> = {};
  for (const r of spendRows) if (r.spentUsd > 0) (usd[r.key2!] ??= {})[r.key] = r.spentUsd;
  return {
    version: packageVersion,
    indexes: indexes.map((i) => {
      const n = counts.get(i.tableName) ?? 0;
      return { name: i.name, modelVersion: i.modelKey, dims: i.dims, rows: Math.min(n, COUNT_CAP), moreRows: n > COUNT_CAP, state: i.state };
    }),
    reembeds: open.map((m, i) => ({
      index: m.indexName,
      from: m.sourceModel,
      to: m.targetModel,
      state: m.state,
      coverage: covered[i]!,
      threshold: m.coverageThreshold,
      quality: m.quality
        ? { method: m.quality.method, k: m.quality.k, sourceRecall: m.quality.source.recall, targetRecall: m.quality.target.recall, floor: m.qualityFloor, passed: m.quality.passed, reason: m.quality.reason }
        : null,
    })),
    batches: batches.map((b) => ({ id: b.id, provider: b.provider, tenant: b.tenant, status: b.status, inputs: b.inputs, completed: b.completed, failed: b.failed, submittedAt: b.submittedAt })),
    spend: { days, tenants: Object.keys(usd).sort(), usd, totalUsd: spendRows.reduce((t, r) => t + r.spentUsd, 0) },
    cache: cacheHits(calls),
  };
}

/** Mounts `GET /` (the page) behind the admin token; its session cookie covers the whole server. */
export function mountStatusPage(app: Hono, deps: { ctx: Pick<Context, 'config' | 'db'>; adminToken: string }): void {
  app.get('/', requireAdmin(deps.adminToken, '/'), async (c) => {
    const html = renderStatusPage(await statusPageData(deps.ctx));
    return c.html(html, 200, PAGE_HEADERS);
  });
}

const esc = (v: unknown): string =>
  String(v).replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]!);
const int = (n: number): string => Math.round(n).toLocaleString('en-US');
const pct = (r: number): string => `${(r * 100).toFixed(1)}%`;
/** Dollars with two significant digits below a cent (embedding calls cost fractions of one), cents above. */
const money = (n: number): string => (n === 0 ? '$0' : n >= 0.01 ? `$${n.toFixed(2)}` : `$${n.toFixed(Math.min(10, 1 - Math.floor(Math.log10(n))))}`);
const PALETTE = ['#2563eb', '#16a34a', '#d97706', '#dc2626', '#7c3aed', '#0891b2', '#db2777', '#65a30d', '#9333ea', '#ea580c'];

function table(head: string[], rows: string[][], empty: string): string {
  if (rows.length === 0) return `<p class="empty">${esc(empty)}</p>`;
  return `<table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`).join('')}</tbody></table>`;
}

/** Stacked bars: one per day, one colour per tenant, with the tenant totals in the legend. */
function spendChart(s: StatusPageData['spend']): string {
  const W = 940;
  const H = 180;
  const pad = { l: 80, b: 22, t: 8 };
  const perDay = s.days.map((d) => s.tenants.reduce((t, tn) => t + (s.usd[tn]?.[d] ?? 0), 0));
  const max = Math.max(...perDay, 0);
  if (max === 0) return `<p class="empty">no spend in the last ${SPEND_DAYS} days</p>`;
  const bw = (W - pad.l) / s.days.length;
  const y = (v: number) => ((H - pad.b - pad.t) * v) / max;
  const bars: string[] = [];
  s.days.forEach((d, i) => {
    let base = H - pad.b;
    s.tenants.forEach((tn, k) => {
      const v = s.usd[tn]?.[d] ?? 0;
      if (v <= 0) return;
      const h = Math.max(1, y(v));
      base -= h;
      bars.push(`<rect x="${(pad.l + i * bw + 1).toFixed(1)}" y="${base.toFixed(1)}" width="${(bw - 2).toFixed(1)}" height="${h.toFixed(1)}" fill="${PALETTE[k % PALETTE.length]}"><title>${esc(`${d} ${tn}: ${money(v)}`)}</title></rect>`);
    });
  });
  const ticks = [0, max / 2, max].map((v) => `<text x="${pad.l - 6}" y="${(H - pad.b - y(v) + 4).toFixed(1)}" text-anchor="end">${esc(money(v))}</text>`);
  const last = s.days.length - 1;
  const labels = [0, Math.floor(last / 2), last].map((i) => `<text x="${(pad.l + i * bw + bw / 2).toFixed(1)}" y="${H - 6}" text-anchor="${i === last ? 'end' : 'middle'}">${esc(s.days[i]!.slice(5))}</text>`);
  const totals = s.tenants.map((tn, k) => {
    const total = Object.values(s.usd[tn] ?? {}).reduce((a, b) => a + b, 0);
    return `<li data-tenant="${esc(tn)}" data-usd="${total}"><span class="swatch" style="background:${PALETTE[k % PALETTE.length]}"></span>${esc(tn)} <b>${esc(money(total))}</b></li>`;
  });
  return `<svg viewBox="0 0 ${W} ${H}" width="100%" role="img" aria-label="spend per day by tenant">
<line x1="${pad.l}" y1="${H - pad.b}" x2="${W}" y2="${H - pad.b}" stroke="#999"/>${ticks.join('')}${labels.join('')}${bars.join('')}</svg>
<ul class="legend">${totals.join('')}</ul>`;
}

function bar(ratio: number, threshold: number): string {
  const w = Math.max(0, Math.min(1, ratio)) * 100;
  return `<span class="bar"><span class="fill" style="width:${w.toFixed(1)}%"></span><span class="mark" style="left:${(threshold * 100).toFixed(1)}%"></span></span> ${esc(pct(ratio))}`;
}

export function renderStatusPage(d: StatusPageData): string {
  const indexes = table(
    ['Index', 'Model version', 'Dims', 'Rows', 'State'],
    d.indexes.map((i) => [esc(i.name), `<code>${esc(i.modelVersion)}</code>`, esc(i.dims), `<span data-rows="${esc(i.name)}">${i.moreRows ? 'more than ' : ''}${esc(int(i.rows))}</span>`, esc(i.state)]),
    'no indexes yet: `embedq ingest <paths> --index NAME` creates one',
  );
  const reembeds = table(
    ['Index', 'From → to', 'State', 'Coverage (needs)', 'Quality gate'],
    d.reembeds.map((m) => [
      esc(m.index),
      `<code>${esc(m.from)}</code> → <code>${esc(m.to)}</code>`,
      esc(m.state),
      `<span data-coverage="${esc(m.index)}" data-ratio="${m.coverage.ratio}">${bar(m.coverage.ratio, m.threshold)}</span> <small>${esc(`${int(m.coverage.target)} / ${int(m.coverage.source)} rows, needs ${pct(m.threshold)}`)}</small>`,
      m.quality
        ? esc(`${m.quality.passed ? 'passed' : 'not passed'}: recall@${m.quality.k} ${m.quality.targetRecall.toFixed(3)} vs ${m.quality.sourceRecall.toFixed(3)} (floor ${m.quality.floor}×, ${m.quality.method})`)
        : 'not run yet',
    ]),
    'no open reembeds',
  );
  const batches = table(
    ['Batch', 'Provider', 'Tenant', 'Status', 'Inputs', 'Done', 'Failed', 'Submitted'],
    d.batches.map((b) => [esc(b.id), esc(b.provider), esc(b.tenant), esc(b.status), esc(int(b.inputs)), esc(int(b.completed)), esc(int(b.failed)), esc(b.submittedAt ? new Date(b.submittedAt).toISOString().replace('T', ' ').slice(0, 16) : '—')]),
    'no open provider batches',
  );
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>embedq status</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:14px/1.45 system-ui,-apple-system,"Liberation Sans",sans-serif;margin:24px auto;max-width:980px;color:#111;padding:0 16px}
h1{font-size:20px;margin:0 0 4px}h2{font-size:15px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #eee;vertical-align:top}th{color:#555;font-weight:600}
code{font-size:12px}.empty{color:#777}.muted{color:#666}.big{font-size:28px;font-weight:600}
.bar{display:inline-block;position:relative;width:140px;height:10px;background:#e5e7eb;border-radius:5px;vertical-align:middle}
.fill{position:absolute;left:0;top:0;bottom:0;background:#16a34a;border-radius:5px}.mark{position:absolute;top:-3px;bottom:-3px;width:2px;background:#111}
svg text{font-size:11px;fill:#555}.legend{list-style:none;padding:0;display:flex;gap:16px;flex-wrap:wrap}.swatch{display:inline-block;width:10px;height:10px;margin-right:6px}
nav a{margin-right:14px}
</style></head><body>
<h1>embedq</h1><div class="muted">version ${esc(d.version)} · <nav style="display:inline"><a href="${ADMIN_PATH}">Bull Board (queues)</a><a href="/metrics">metrics</a><a href="/readyz">readiness</a><a href="/admin/spend">spend (JSON)</a></nav></div>
<h2>Cache</h2>
<div><span class="big" id="cache-ratio" data-ratio="${d.cache.ratio}">${esc(pct(d.cache.ratio))}</span> <span class="muted">of chunks from the cache: ${esc(int(d.cache.hits))} from the cache, ${esc(int(d.cache.embedded))} embedded by a provider</span></div>
<h2>Indexes</h2>${indexes}
<h2>Open reembeds</h2>${reembeds}
<h2>Open provider batches</h2>${batches}
<h2>Spend per day, last ${SPEND_DAYS} days (UTC), by tenant</h2>
<div id="spend" data-total="${d.spend.totalUsd}">${spendChart(d.spend)}</div>
</body></html>`;
}
