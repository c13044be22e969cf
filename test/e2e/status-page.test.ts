/**
 * The status page at `/` of the real `embedq serve` binary, rendered by headless Chromium
 * (Debian's package, scripts/chromium.sh): refused without the admin token; with it, every number
 * it shows (index rows, reembed coverage, the open batch, spend per tenant, the cache-hit ratio)
 * equals what the database holds. The screenshot goes to test-results/status-page.png.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { runIngest } from '../../src/cli/commands/ingest.ts';
import { runReembedStart } from '../../src/cli/commands/reembed.ts';
import { createBatch } from '../../src/store/batches.ts';
import { BIN } from '../support/cli.ts';
import { prose, writeCorpus } from '../support/corpus.ts';
import { expect, test } from '../support/fixtures.ts';
import { withSim } from '../support/sim-context.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const TOKEN = 'e2e-status-token-0123456789abcdef';
const RESULTS = join(import.meta.dirname, '..', '..', 'test-results');

function startServe(env: Record<string, string>): Promise<{ child: ChildProcess; url: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'serve', '--port', '0'], { cwd: tmpdir(), env: { ...process.env, EMBEDQ_LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
      const m = /embedq serve: listening on (http:\/\/\S+)/.exec(stderr);
      if (m) resolve({ child, url: m[1]! });
    });
    child.on('exit', (code) => reject(new Error(`embedq serve exited with ${code}: ${stderr}`)));
  });
}

test('the status page shows, behind the admin token, the numbers the database holds', () =>
  withSim(async (_sim, ctx) => {
    expect(existsSync(CHROMIUM), `${CHROMIUM} is missing: run \`bash scripts/chromium.sh\` (scripts/test.sh does)`).toBe(true);
    const files = (seed: number) => writeCorpus(Object.fromEntries(Array.from({ length: 6 }, (_, i) => [`d${i}.txt`, prose(seed + i, 5)])));
    // Paid vectors for two tenants, some of them from the cache; then a reembed left at ready, and an open batch.
    const a = files(10);
    await runIngest(ctx, { paths: [a], index: 'docs', model: 'openai/text-embedding-3-small', dims: 64, tenant: 'acme', chunkTokens: 40, chunkOverlap: 0 });
    await runIngest(ctx, { paths: [files(30)], index: 'docs', tenant: 'globex' });
    await runIngest(ctx, { paths: [a], index: 'copy', model: 'openai/text-embedding-3-small', dims: 64, tenant: 'acme', chunkTokens: 40, chunkOverlap: 0 });
    const re = await runReembedStart(ctx, { index: 'docs', to: 'local/hash-v1', dims: 32, cutover: false });
    expect(re.migration!.state).toBe('ready');
    const { rows: v } = await ctx.db.query<{ id: number; model_version_id: number }>(`SELECT id, model_version_id FROM index_versions ORDER BY id LIMIT 1`);
    const batch = await createBatch(ctx.db, { provider: 'openai', modelVersionId: v[0]!.model_version_id, indexVersionId: v[0]!.id, tenant: 'acme', runId: 'r-status', submitJobId: 'job-status' });

    const { child, url } = await startServe({
      REDIS_URL: ctx.config.redisUrl,
      DATABASE_URL: ctx.config.databaseUrl,
      EMBEDQ_DB_SCHEMA: ctx.config.dbSchema,
      EMBEDQ_REDIS_PREFIX: ctx.config.redisPrefix,
      EMBEDQ_ADMIN_TOKEN: TOKEN,
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true });
    try {
      expect((await fetch(`${url}/`)).status).toBe(401);
      const page = await (await browser.newContext({ viewport: { width: 1100, height: 900 } })).newPage();
      await page.route('**/*', (route) => (route.request().url().startsWith(url) ? route.continue() : route.abort()));
      const csp: string[] = [];
      page.on('console', (m) => void (/Content Security Policy/i.test(m.text()) && csp.push(m.text())));
      // ?token= once: the server sets its session cookie and redirects to the page without it.
      const res = await page.goto(`${url}/?token=${TOKEN}`, { waitUntil: 'load' });
      expect(res!.status()).toBe(200);
      expect(page.url()).toBe(`${url}/`);
      expect(await page.title()).toBe('embedq status');
      mkdirSync(RESULTS, { recursive: true });
      await page.screenshot({ path: join(RESULTS, 'status-page.png'), fullPage: true });

      // Indexes: each live table's rows.
      for (const name of ['docs', 'copy']) {
        const { rows } = await ctx.db.query<{ n: number; table: string }>(
          `SELECT v.table_name AS table, 0 AS n FROM indexes i JOIN index_aliases a ON a.index_id = i.id JOIN index_versions v ON v.id = a.index_version_id WHERE i.name = $1`,
          [name],
        );
        const count = Number((await ctx.db.query(`SELECT count(*) AS n FROM "${rows[0]!.table}"`)).rows[0].n);
        expect(count).toBeGreaterThan(0);
        expect(await page.locator(`[data-rows="${name}"]`).innerText()).toBe(count.toLocaleString('en-US'));
      }
      // The open reembed's coverage: target rows / source rows.
      const m = re.migration!;
      const { rows: cov } = await ctx.db.query<{ s: number; t: number }>(`SELECT (SELECT count(*) FROM "${m.sourceTable}")::int AS s, (SELECT count(*) FROM "${m.targetTable}")::int AS t`);
      expect(Number(await page.locator('[data-coverage="docs"]').getAttribute('data-ratio'))).toBeCloseTo(cov[0]!.t / cov[0]!.s, 9);
      expect(await page.locator("body").innerText()).toContain(`${cov[0]!.t} / ${cov[0]!.s} rows`);
      expect(await page.locator('body').innerText()).toMatch(/passed: recall@\d+ /);
      // The open batch.
      expect(await page.locator('body').innerText()).toMatch(new RegExp(`\\b${batch}\\s+openai\\s+acme\\s+preparing`));
      // Spend per tenant over the chart's 30 days, against the ledger.
      const { rows: spent } = await ctx.db.query<{ tenant: string; usd: number }>(
        `SELECT tenant, sum(cost_usd)::float AS usd FROM ledger WHERE status = 'ok' AND cost_usd > 0 AND at >= now() - interval '29 days' GROUP BY 1 ORDER BY 1`,
      );
      expect(spent.map((r) => r.tenant)).toEqual(['acme', 'globex']);
      for (const r of spent) expect(Number(await page.locator(`li[data-tenant="${r.tenant}"]`).getAttribute('data-usd'))).toBeCloseTo(r.usd, 9);
      expect(await page.locator('#spend svg rect').count()).toBeGreaterThan(0);
      // The cache-hit ratio: the copy index came entirely from the cache.
      const { rows: c } = await ctx.db.query<{ hits: number; embedded: number }>(
        `SELECT coalesce(sum(inputs) FILTER (WHERE status = 'cache_hit'), 0)::int AS hits, coalesce(sum(inputs) FILTER (WHERE status = 'ok' AND mode <> 'online'), 0)::int AS embedded FROM ledger`,
      );
      expect(c[0]!.hits).toBeGreaterThan(0);
      expect(Number(await page.locator('#cache-ratio').getAttribute('data-ratio'))).toBeCloseTo(c[0]!.hits / (c[0]!.hits + c[0]!.embedded), 9);
      expect(await page.locator('a[href="/admin/queues"]').count()).toBe(1);
      expect(csp).toEqual([]);
    } finally {
      await browser.close();
      child.kill('SIGTERM');
      await exited;
    }
  }), 180_000); // a safety net for a loaded machine (three ingests, a reembed, a browser), not a bound
