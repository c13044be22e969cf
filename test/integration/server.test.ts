/**
 * `embedq serve` in-process (app.request, no port): admin auth on the dashboard, /metrics,
 * /healthz and /readyz against the real services; plus `embedq log` on the same ledger.
 */
import type { Hono } from 'hono';
import { runIngest } from '../../src/cli/commands/ingest.ts';
import { runLog } from '../../src/cli/commands/log.ts';
import { withConfig, type Context } from '../../src/context.ts';
import { ConfigError } from '../../src/errors.ts';
import { QUEUES } from '../../src/queue/names.ts';
import { createQueues } from '../../src/queue/producer.ts';
import { openServer, type ErrorBody } from '../../src/server/app.ts';
import { checkBind, isLoopbackHost, presentedSecret, tokenMatches } from '../../src/server/auth.ts';
import { createPool } from '../../src/store/db.ts';
import { spawn } from 'node:child_process';
import { BIN, runCli } from '../support/cli.ts';
import { prose, writeCorpus } from '../support/corpus.ts';
import { describe, expect, test, uniqueName } from '../support/fixtures.ts';
import { parseExposition } from '../support/prom-parse.ts';

const TOKEN = 'test-admin-token-0123456789abcdef';
type Deps = Pick<Context, 'config' | 'db' | 'logger'>;

async function withApp<T>(deps: Deps, fn: (app: Hono) => Promise<T>): Promise<T> {
  // Refused connections fail at once; the bound only keeps a healthy probe on a loaded machine from counting as down.
  const server = openServer(deps, { probeTimeoutMs: 10_000 });
  try {
    return await fn(server.app);
  } finally {
    await server.close();
  }
}

const withToken = (ctx: Context): Deps => ({ config: { ...ctx.config, adminToken: TOKEN }, db: ctx.db, logger: ctx.logger });
const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
const scrape = async (app: Hono) => {
  const res = await app.request('/metrics');
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return parseExposition(await res.text());
};

describe('dashboard authentication', () => {
  test('401 without or with a wrong token; 200 with the bearer token or as basic-auth password (any user)', async ({ ctx }) => {
    await withApp(withToken(ctx), async (app) => {
      const none = await app.request('/admin/queues');
      expect(none.status).toBe(401);
      expect(none.headers.get('www-authenticate')).toMatch(/Basic realm="embedq admin"/);
      expect(((await none.json()) as ErrorBody).error).toEqual({ status: 401, message: expect.stringMatching(/admin token/) });
      for (const authorization of [`Bearer wrong-${TOKEN}`, basic('admin', 'nope'), `Bearer ${TOKEN.slice(0, -1)}`, 'Digest x'])
        expect((await app.request('/admin/queues', { headers: { authorization } })).status).toBe(401);

      const page = await app.request('/admin/queues', { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(page.status).toBe(200);
      const html = await page.text();
      expect(html).toContain('<title>embedq</title>');
      expect(html).toContain('<base href="/admin/queues/"');
      expect((await app.request('/admin/queues', { headers: { authorization: basic('anyone', TOKEN) } })).status).toBe(200);

      // Static assets and the board's API sit behind the same check.
      const asset = /href="(static\/css\/[^"]+)"/.exec(html)![1]!;
      expect((await app.request(`/admin/queues/${asset}`)).status).toBe(401);
      expect((await app.request(`/admin/queues/${asset}`, { headers: { authorization: basic('u', TOKEN) } })).status).toBe(200);
      expect((await app.request('/admin/queues/api/queues')).status).toBe(401);
      const api = await app.request('/admin/queues/api/queues', { headers: { authorization: `Bearer ${TOKEN}` } });
      const names = ((await api.json()) as { queues: { name: string }[] }).queues.map((q) => q.name);
      expect(names.sort()).toEqual(Object.values(QUEUES).sort());

      // A write sent by another site is refused even with valid credentials (CSRF).
      const cross = await app.request('/admin/queues/api/queues/embed/pause', {
        method: 'PUT',
        headers: { authorization: basic('u', TOKEN), 'sec-fetch-site': 'cross-site' },
      });
      expect(cross.status).toBe(403);
      // Operations endpoints need no token.
      for (const path of ['/metrics', '/healthz']) expect((await app.request(path)).status).toBe(200);
    });
  });

  test('without a configured token one is generated: 401 without it; its ?token URL sets a session cookie and redirects without it', async ({ ctx }) => {
    expect(ctx.config.adminToken).toBeUndefined();
    const server = openServer(ctx, { probeTimeoutMs: 1500 });
    try {
      const { app, adminToken } = server;
      expect(server.tokenGenerated).toBe(true);
      expect(adminToken).toMatch(/^[A-Za-z0-9_-]{32}$/);
      const again = openServer(ctx);
      expect(again.adminToken, 'a new token every start').not.toBe(adminToken);
      await again.close();
      for (const path of ['/admin/queues', '/admin/queues/api/queues']) expect((await app.request(`http://127.0.0.1:8080${path}`)).status, path).toBe(401);
      expect((await app.request(`/admin/queues?token=wrong-${adminToken}`)).status).toBe(401);

      const login = await app.request(`http://127.0.0.1:8080/admin/queues?token=${adminToken}`);
      expect(login.status).toBe(302);
      expect(login.headers.get('location')).toBe('/admin/queues');
      const cookie = login.headers.get('set-cookie')!;
      expect(cookie).toMatch(/^embedq_admin=[^;]+; Path=\/admin\/queues; HttpOnly; SameSite=Strict$/);
      const session = { cookie: cookie.split(';')[0]! };
      expect((await app.request('/admin/queues', { headers: session })).status).toBe(200);
      expect((await app.request('/admin/queues/api/queues', { headers: session })).status).toBe(200);
      expect((await app.request('/admin/queues', { headers: { authorization: `Bearer ${adminToken}` } })).status).toBe(200);
      expect((await app.request('/admin/queues', { headers: { cookie: 'embedq_admin=guess' } })).status).toBe(401);
    } finally {
      await server.close();
    }
  });

  test('the board is never framed and scripts come only from itself; a body over 64 KiB is refused with 413 before Bull Board reads it', async ({ ctx }) => {
    await withApp(withToken(ctx), async (app) => {
      for (const res of [await app.request('/admin/queues', { headers: { authorization: `Bearer ${TOKEN}` } }), await app.request('/admin/queues')]) {
        expect(res.headers.get('x-frame-options')).toBe('DENY');
        expect(res.headers.get('content-security-policy')).toMatch(/frame-ancestors 'none'/);
        expect(res.headers.get('content-security-policy')).toMatch(/script-src 'self'(;|$)/);
      }
      const huge = 'x'.repeat(50 * 1024 * 1024);
      for (const headers of [{ authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, { 'content-type': 'application/json' }]) {
        const res = await app.request('/admin/queues/api/queues/ingest/retry/failed', { method: 'PUT', headers: { ...headers, 'content-length': String(huge.length) }, body: huge });
        expect(res.status).toBe(413);
        expect(((await res.json()) as ErrorBody).error.message).toMatch(/over the dashboard's limit of 64 KiB/);
      }
      // Streamed without a length, it is cut off while it arrives.
      const stream = new ReadableStream({
        start(c) {
          for (let i = 0; i < 50; i++) c.enqueue(new Uint8Array(1024 * 1024));
          c.close();
        },
      });
      const chunked = await app.request('/admin/queues/api/queues/ingest/retry/failed', { method: 'PUT', headers: { authorization: `Bearer ${TOKEN}` }, body: stream, duplex: 'half' } as RequestInit);
      expect(chunked.status).toBe(413);
    });
  });

  test('the board cannot create or edit jobs: add, update-data, delay and priority are refused; promote, clean, retry, pause and resume work', async ({ ctx }) => {
    const queues = createQueues(ctx.redis, ctx.config);
    try {
      await withApp(withToken(ctx), async (app) => {
        const send = (method: string, path: string, body?: unknown) =>
          app.request(`/admin/queues/api/queues${path}`, { method, headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, ...(body ? { body: JSON.stringify(body) } : {}) });
        const read = { invalidUtf8: 'replace', maxFileBytes: 1e12 };
        const add = await send('POST', '/ingest/add', { name: 'ingest', data: { runId: 'x', index: 'docs', tenant: 'default', source: { kind: 'files', paths: ['/etc/passwd'] }, read } });
        expect(add.status).toBe(403);
        expect(((await add.json()) as ErrorBody).error.message).toMatch(/does not create or edit jobs \(POST \/admin\/queues\/api\/queues\/ingest\/add refused\)/);
        expect(await queues.ingest.count()).toBe(0);

        const data = { runId: 'r1', indexVersionId: 1, tenant: 'default', items: [] };
        const job = await queues.embed.add('embed', data, { delay: 3_600_000 });
        for (const [method, path, body] of [
          ['PATCH', `/embed/${job.id}/update-data`, { jobData: { ...data, tenant: 'other' } }],
          ['PATCH', `/embed/${job.id}/delay`, { runAt: Date.now() }],
          ['PATCH', `/embed/${job.id}/priority`, { priority: 1 }],
          ['PUT', '/embed/obliterate', { confirmQueueName: 'embed' }],
          ['PUT', '/embed/concurrency', { concurrency: 100 }],
        ] as const)
          expect((await send(method, path, body)).status, `${method} ${path}`).toBe(403);
        const after = (await queues.embed.getJob(job.id!))!;
        expect(after.data).toEqual(data);
        expect(await after.getState()).toBe('delayed');

        expect((await send('PUT', `/embed/${job.id}/promote`)).status).toBeLessThan(300);
        expect(await after.getState()).toBe('waiting');
        expect((await send('PUT', '/embed/pause')).status).toBeLessThan(300);
        expect(await queues.embed.isPaused()).toBe(true);
        expect((await send('PUT', '/embed/resume')).status).toBeLessThan(300);
        expect(await queues.embed.isPaused()).toBe(false);
        expect((await send('PUT', '/embed/retry/failed')).status).toBeLessThan(300);
        expect((await send('PUT', '/embed/clean/completed')).status).toBeLessThan(300);
        expect((await send('PUT', `/embed/${job.id}/clean`)).status).toBeLessThan(300);
        expect(await queues.embed.getJob(job.id!)).toBeUndefined();
      });
    } finally {
      await queues.close();
    }
  });

  test('unknown routes are JSON 404s from the one error handler', async ({ ctx }) => {
    await withApp(ctx, async (app) => {
      const res = await app.request('/nope');
      expect(res.status).toBe(404);
      expect(await res.json()).toEqual({ error: { status: 404, message: 'no route for GET /nope' } });
    });
  });
});

describe('bind check', () => {
  test('loopback hosts may run without a token; any other host needs one', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1']) {
      expect(isLoopbackHost(h), h).toBe(true);
      expect(checkBind(h, undefined)).toBe('generated-token');
    }
    for (const h of ['0.0.0.0', '::', '192.168.1.10', '10.0.0.1', 'example.com', '::ffff:10.0.0.1']) {
      expect(isLoopbackHost(h), h).toBe(false);
      expect(() => checkBind(h, undefined)).toThrow(ConfigError);
      expect(checkBind(h, TOKEN)).toBe('token');
    }
    expect(() => checkBind('0.0.0.0', undefined)).toThrow(/refusing to serve on 0\.0\.0\.0 .*EMBEDQ_ADMIN_TOKEN/);
  });

  test('credentials: bearer or basic password, compared whole', () => {
    expect(presentedSecret(`Bearer ${TOKEN}`)).toBe(TOKEN);
    expect(presentedSecret(basic('me', 'p:a:ss'))).toBe('p:a:ss');
    expect(presentedSecret('Token x')).toBeUndefined();
    expect(tokenMatches(TOKEN, TOKEN)).toBe(true);
    expect(tokenMatches(`${TOKEN}x`, TOKEN)).toBe(false);
    expect(tokenMatches('', TOKEN)).toBe(false);
  });

  test('the real binary refuses 0.0.0.0 without a token: one line, exit 1; a bad --port is a usage error', async ({ config }) => {
    const env = { REDIS_URL: config.redisUrl, DATABASE_URL: config.databaseUrl, EMBEDQ_DB_SCHEMA: config.dbSchema, EMBEDQ_ADMIN_TOKEN: undefined };
    const r = await runCli(['serve', '--host', '0.0.0.0', '--port', '0'], env);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^embedq: refusing to serve on 0\.0\.0\.0 .*EMBEDQ_ADMIN_TOKEN/)]);
    const port = await runCli(['serve', '--port', '99999'], env);
    expect(port.code).toBe(2);
    expect(port.stderr).toMatch(/--port must be an integer from 0 to 65535/);
    const weak = await runCli(['serve', '--port', '0'], { ...env, EMBEDQ_ADMIN_TOKEN: 'short-secret' });
    expect(weak.code).toBe(1);
    expect(weak.stderr).toMatch(/EMBEDQ_ADMIN_TOKEN: expected a secret of at least 16 characters/);
    expect(weak.stderr).not.toContain('short-secret');
  });

  test('the real binary refuses an admin token of 16 spaces (no entropy)', async ({ config }) => {
    const env = { REDIS_URL: config.redisUrl, DATABASE_URL: config.databaseUrl, EMBEDQ_DB_SCHEMA: config.dbSchema, EMBEDQ_ADMIN_TOKEN: ' '.repeat(16) };
    const spaces = await runCli(['serve', '--port', '0'], env, { timeoutMs: 50_000 });
    expect(spaces.code).toBe(1);
    expect(spaces.stderr).toMatch(/EMBEDQ_ADMIN_TOKEN: expected a secret of at least 16 characters and 64 bits of entropy/);
  });
});

describe('serve without a configured token', () => {
  test('prints the dashboard URL with a generated token (as Jupyter does); the board answers 401 without it and 200 after opening that URL', async ({ config }) => {
    const child = spawn(process.execPath, [BIN, 'serve', '--port', '0'], {
      env: { ...process.env, REDIS_URL: config.redisUrl, DATABASE_URL: config.databaseUrl, EMBEDQ_DB_SCHEMA: config.dbSchema, EMBEDQ_REDIS_PREFIX: config.redisPrefix, EMBEDQ_ADMIN_TOKEN: '', EMBEDQ_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    let stderr = '';
    const printed = await new Promise<string>((resolve, reject) => {
      child.stderr!.on('data', (d: Buffer) => {
        stderr += d.toString();
        const m = /^ {2}open the dashboard at (http:\/\/127\.0\.0\.1:\d+\/admin\/queues\?token=[A-Za-z0-9_-]{32})$/m.exec(stderr);
        if (m) resolve(m[1]!);
      });
      void exited.then((code) => reject(new Error(`serve exited with ${code}: ${stderr}`)));
    });
    try {
      expect(stderr).toMatch(/^embedq serve: listening on http:\/\/127\.0\.0\.1:\d+ — \/v1\/embeddings and \/v1\/models \(keys: embedq keys create\), status page \/ and dashboard \/admin\/queues \(token generated for this run\)/m);
      const url = new URL(printed);
      expect((await fetch(`${url.origin}/admin/queues`)).status).toBe(401);
      expect((await fetch(`${url.origin}/admin/queues/api/queues`)).status).toBe(401);
      const login = await fetch(printed, { redirect: 'manual' });
      expect(login.status).toBe(302);
      const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
      expect((await fetch(`${url.origin}/admin/queues/api/queues`, { headers: { cookie } })).status).toBe(200);
      expect((await fetch(`${url.origin}/admin/queues/api/queues`, { headers: { authorization: `Bearer ${url.searchParams.get('token')}` } })).status).toBe(200);
    } finally {
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    }
  }, 120_000); // a safety net: starting the binary takes tens of seconds on a loaded machine
});

describe('/metrics', () => {
  test('parses as Prometheus text, and its counters move after an ingest (and embedq log lists the calls)', async ({ ctx }) => {
    await withApp(ctx, async (app) => {
      const before = await scrape(app);
      expect(before.value('embedq_up', { service: 'redis' })).toBe(1);
      expect(before.value('embedq_up', { service: 'postgres' })).toBe(1);
      expect(before.value('embedq_chunks_embedded_total')).toBe(0);
      expect(before.value('embedq_cache_hits_total')).toBe(0);
      for (const queue of Object.values(QUEUES)) expect(before.value('embedq_queue_jobs', { queue, state: 'waiting' })).toBe(0);
      expect(before.families.get('process_cpu_user_seconds_total')?.type).toBe('counter');
      expect(before.families.get('embedq_provider_latency_seconds')?.type).toBe('histogram');

      const files: Record<string, string> = {};
      for (let i = 0; i < 4; i++) files[`doc${i}.md`] = prose(i, 12);
      const dir = writeCorpus(files);
      const first = await runIngest(ctx, { paths: [dir], index: 'docs', chunkTokens: 64, chunkOverlap: 8 });
      expect(first.embedded).toBeGreaterThan(0);

      const after = await scrape(app);
      expect(after.value('embedq_chunks_embedded_total')).toBe(first.embedded);
      const okCalls = after.samples('embedq_provider_requests_total', { provider: 'local', status: 'ok' });
      expect(okCalls).toHaveLength(1);
      const model = okCalls[0]!.labels.model!;
      expect(model).toMatch(/^local\/hash-v1@.+:\d+$/);
      expect(okCalls[0]!.value).toBeGreaterThan(0);
      expect(after.value('embedq_provider_tokens_total', { provider: 'local', model, mode: 'sync' })).toBe(first.tokens);
      expect(after.value('embedq_provider_latency_seconds_count', { provider: 'local', model })).toBe(okCalls[0]!.value);
      expect(after.value('embedq_provider_latency_seconds_bucket', { provider: 'local', model, le: '+Inf' })).toBe(okCalls[0]!.value);
      expect(after.value('embedq_spend_usd_total', { tenant: 'default', model })).toBe(0); // the local model is free
      expect(after.value('embedq_queue_jobs', { queue: 'ingest', state: 'completed' })).toBeGreaterThan(0);

      // The same texts in another index come from the cache: hits and the ratio move.
      const again = await runIngest(ctx, { paths: [dir], index: 'docs2', chunkTokens: 64, chunkOverlap: 8 });
      expect(again.cacheHits).toBe(first.chunks);
      const third = await scrape(app);
      expect(third.value('embedq_cache_hits_total')).toBe(again.cacheHits);
      expect(third.value('embedq_chunks_embedded_total')).toBe(first.embedded);
      expect(third.value('embedq_cache_hit_ratio')).toBeCloseTo(again.cacheHits / (again.cacheHits + first.embedded), 6);

      const log = await runLog(ctx, { since: '1h' });
      expect(log.rows.map((r) => r.status).sort()).toEqual([...Array<string>(okCalls[0]!.value).fill('ok'), 'cache_hit'].sort());
      expect(log.rows[0]).toMatchObject({ tenant: 'default', modelVersion: model, provider: 'local', mode: 'cache', status: 'cache_hit', inputs: again.cacheHits });
      expect((await runLog(ctx, { model: 'local/hash-v1' })).rows).toHaveLength(log.rows.length);
      expect((await runLog(ctx, { model: model })).rows).toHaveLength(log.rows.length);
      expect((await runLog(ctx, { tenant: 'someone-else' })).rows).toEqual([]);
      const one = await runLog(ctx, { limit: '1' });
      expect(one).toMatchObject({ limit: 1, more: true });
      await expect(runLog(ctx, { limit: '0' })).rejects.toThrow(/--limit must be an integer from 1 to/);
    });
  });

  test('beyond loopback /metrics needs the metrics token (else the admin token); on loopback it is open to loopback host names only', async ({ ctx }) => {
    const METRICS = 'metrics-token-fedcba9876543210';
    const at = (host: string, token?: string) => ({ headers: token ? { authorization: `Bearer ${token}` } : {}, host });
    for (const [opts, good, bad] of [
      [{ host: '0.0.0.0', metricsToken: METRICS }, METRICS, TOKEN],
      [{ host: '192.168.1.10' }, TOKEN, METRICS],
    ] as const) {
      const server = openServer(withToken(ctx), opts);
      try {
        const none = await server.app.request('http://10.0.0.5:8080/metrics');
        expect(none.status).toBe(401);
        expect(await none.text()).not.toMatch(/embedq_|tenant/);
        expect((await server.app.request('http://10.0.0.5:8080/metrics', at('x', bad))).status).toBe(401);
        const ok = await server.app.request('http://10.0.0.5:8080/metrics', at('x', good));
        expect(ok.status).toBe(200);
        expect(await ok.text()).toMatch(/embedq_up\{service="redis"\} 1/);
        expect((await server.app.request('http://10.0.0.5:8080/healthz')).status).toBe(200);
      } finally {
        await server.close();
      }
    }
    await withApp(ctx, async (app) => {
      expect((await app.request('http://127.0.0.1:8080/metrics')).status).toBe(200);
      const rebound = await app.request('http://evil.example:8080/metrics');
      expect(rebound.status).toBe(403);
      expect(((await rebound.json()) as ErrorBody).error.message).toMatch(/answers only to loopback host names/);
    });
  });

  test('keeps answering with embedq_up 0 when Redis or Postgres is down', async ({ ctx }) => {
    await withApp(withConfig(ctx, { ...ctx.config, redisUrl: 'redis://:s3cret@127.0.0.1:1' }), async (app) => {
      const m = await scrape(app);
      expect(m.value('embedq_up', { service: 'redis' })).toBe(0);
      expect(m.value('embedq_up', { service: 'postgres' })).toBe(1);
      expect(m.families.has('embedq_queue_jobs')).toBe(false);
      expect(m.value('embedq_chunks_embedded_total')).toBe(0);
    });
    const deadDb = createPool({ url: 'postgres://embedq:pw@127.0.0.1:1/embedq', schema: ctx.config.dbSchema });
    try {
      await withApp({ ...ctx, db: deadDb }, async (app) => {
        const m = await scrape(app);
        expect(m.value('embedq_up', { service: 'postgres' })).toBe(0);
        expect(m.value('embedq_up', { service: 'redis' })).toBe(1);
        // Left out, not shown as 0: a counter dropping to 0 would read as a reset.
        for (const family of ['embedq_provider_requests_total', 'embedq_chunks_embedded_total', 'embedq_spend_usd_total', 'embedq_provider_latency_seconds'])
          expect(m.families.has(family), family).toBe(false);
        expect(m.value('embedq_queue_jobs', { queue: 'embed', state: 'active' })).toBe(0);
      });
    } finally {
      await deadDb.end();
    }
  });
});

describe('/healthz and /readyz', () => {
  test('ready when Redis and Postgres answer and nothing is pending; else 503 naming what is down', async ({ ctx }) => {
    await withApp(ctx, async (app) => {
      expect(await (await app.request('/healthz')).json()).toEqual({ status: 'ok' });
      const ok = await app.request('/readyz');
      expect(ok.status).toBe(200);
      expect(await ok.json()).toEqual({ status: 'ready', down: [], checks: { redis: { ok: true }, postgres: { ok: true }, migrations: { ok: true, pending: [] } } });
    });

    await withApp(withConfig(ctx, { ...ctx.config, redisUrl: 'redis://:s3cret@127.0.0.1:1' }), async (app) => {
      expect((await app.request('/healthz')).status).toBe(200);
      const res = await app.request('/readyz');
      expect(res.status).toBe(503);
      const text = await res.text();
      // Anyone reaching the port may ask: no URL, host, port, user or database.
      for (const leak of ['s3cret', 'redis://', 'postgres://', '127.0.0.1', ctx.config.dbSchema, 'embedq@']) expect(text, leak).not.toContain(leak);
      expect(JSON.parse(text)).toEqual({
        status: 'unavailable',
        down: ['redis'],
        checks: { redis: { ok: false, error: 'not reachable: connection refused' }, postgres: { ok: true }, migrations: { ok: true, pending: [] } },
      });
    });

    await withApp(withConfig(ctx, { ...ctx.config, dbSchema: uniqueName('unmigrated') }), async (app) => {
      const res = await app.request('/readyz');
      expect(res.status).toBe(503);
      expect(await res.json()).toMatchObject({ down: ['migrations'], checks: { migrations: { ok: false, pending: expect.arrayContaining(['0001_init']) } } });
    });
  });
});
