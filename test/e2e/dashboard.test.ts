/**
 * The real `embedq serve` binary with an admin token, and the Bull Board page rendered by
 * headless Chromium (Debian's package, installed by scripts/chromium.sh; playwright-core only
 * drives it). The screenshot goes to test-results/ (git-ignored).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { chromium } from 'playwright-core';
import { QUEUES } from '../../src/queue/names.ts';
import { BIN } from '../support/cli.ts';
import { describe, dropNamespace, expect, test, testConfig } from '../support/fixtures.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const TOKEN = 'e2e-dashboard-token-0123456789';
const RESULTS = join(import.meta.dirname, '..', '..', 'test-results');

/** Starts `embedq serve --port 0` and resolves with its URL once the startup line is printed. */
function startServe(env: Record<string, string>): Promise<{ child: ChildProcess; url: string; line: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'serve', '--port', '0'], {
      cwd: tmpdir(), // static assets must not depend on the working directory
      env: { ...process.env, EMBEDQ_LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    const timer = setTimeout(() => reject(new Error(`embedq serve did not start within 30 s: ${stderr}`)), 30_000);
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
      const m = /^(embedq serve: listening on (http:\/\/\S+) .*)$/m.exec(stderr);
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: m[2]!, line: m[1]! });
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`embedq serve exited with ${code}: ${stderr}`));
    });
  });
}

describe('dashboard in a browser', () => {
  test('Bull Board renders the embedq queues behind basic auth, and serve stops cleanly on SIGTERM', async () => {
    expect(existsSync(CHROMIUM), `${CHROMIUM} is missing: run \`bash scripts/chromium.sh\` (scripts/test.sh does)`).toBe(true);
    const config = testConfig();
    const prefix = config.redisPrefix;
    // A waiting job (no worker runs under this prefix) so the board shows data read from Redis.
    const probe = new Queue(QUEUES.embed, { connection: { url: config.redisUrl }, prefix });
    await probe.add('e2e-probe', { hello: 'dashboard' });
    await probe.close();

    const { child, url, line } = await startServe({
      REDIS_URL: config.redisUrl,
      DATABASE_URL: config.databaseUrl,
      EMBEDQ_DB_SCHEMA: config.dbSchema,
      EMBEDQ_REDIS_PREFIX: prefix,
      EMBEDQ_ADMIN_TOKEN: TOKEN,
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true });
    try {
      expect(line).toMatch(/dashboard \/admin\/queues \(admin token required\)/);
      const denied = await fetch(`${url}/admin/queues`);
      expect(denied.status).toBe(401);

      const context = await browser.newContext({ httpCredentials: { username: 'ops', password: TOKEN }, viewport: { width: 1280, height: 800 } });
      const page = await context.newPage();
      // Only our server is reachable; the board's web-font link must not wait on the network.
      await page.route('**/*', (route) => (route.request().url().startsWith(url) ? route.continue() : route.abort()));
      const failed: string[] = [];
      // The board's Content-Security-Policy must not block anything of its own.
      page.on('console', (m) => {
        if (/Content Security Policy/i.test(m.text()) && !/fonts\.g/.test(m.text())) failed.push(`CSP: ${m.text()}`);
      });
      page.on('response', (r) => {
        if (r.url().startsWith(url) && r.status() >= 400) failed.push(`${r.status()} ${r.url()}`);
      });

      await page.goto(`${url}/admin/queues`, { waitUntil: 'domcontentloaded' });
      for (const name of Object.values(QUEUES)) await page.getByText(name, { exact: true }).first().waitFor({ timeout: 20_000 });
      expect(await page.title()).toBe('embedq');
      const overview = await page.locator('body').innerText();
      for (const name of Object.values(QUEUES)) expect(overview).toContain(name);
      mkdirSync(RESULTS, { recursive: true });
      await page.screenshot({ path: join(RESULTS, 'dashboard.png'), fullPage: true });

      await page.goto(`${url}/admin/queues/queue/${QUEUES.embed}`, { waitUntil: 'domcontentloaded' });
      await page.getByText('e2e-probe').first().waitFor({ timeout: 20_000 });
      await page.screenshot({ path: join(RESULTS, 'dashboard-embed-queue.png'), fullPage: true });
      expect(failed).toEqual([]);
    } finally {
      await browser.close();
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      await dropNamespace(config.dbSchema, prefix);
    }
  });
});
