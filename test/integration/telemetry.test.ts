/**
 * OpenTelemetry traces (src/telemetry.ts). In process, with the SDK's in-memory exporter: one
 * ingest run is one trace whose spans have the right parents, and the provider call follows the
 * GenAI conventions. Across processes, with the real OTLP exporter (http/json) posting to a
 * collector this test runs: a CLI ingest and two `embedq worker` processes make one trace, the
 * jobs' spans children of the CLI's root through the traceparent in the job data. With tracing
 * off, no OpenTelemetry module is loaded at all.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { runIngest } from '../../src/cli/commands/ingest.ts';
import { runReembedStart } from '../../src/cli/commands/reembed.ts';
import { createApiKey } from '../../src/gateway/keys.ts';
import { openServer } from '../../src/server/app.ts';
import { startTelemetry, stopTelemetry } from '../../src/telemetry.ts';
import { BIN, runCli } from '../support/cli.ts';
import { prose, writeCorpus } from '../support/corpus.ts';
import { expect, test } from '../support/fixtures.ts';
import { withSim } from '../support/sim-context.ts';

const corpus = (n: number, seed = 0) => writeCorpus(Object.fromEntries(Array.from({ length: n }, (_, i) => [`d${i}.md`, prose(seed + i, 6)])));

/** The spans as an indented tree, parents first: what the closing note shows. */
function tree(spans: { id: string; parent: string | undefined; name: string; service: string; pid: unknown }[]): string {
  const byParent = new Map<string | undefined, typeof spans>();
  for (const s of spans) byParent.set(s.parent, [...(byParent.get(s.parent) ?? []), s]);
  const ids = new Set(spans.map((s) => s.id));
  const lines: string[] = [];
  const walk = (s: (typeof spans)[number], depth: number) => {
    lines.push(`${'  '.repeat(depth)}${s.name}  [${s.service} pid ${String(s.pid)}]`);
    for (const c of byParent.get(s.id) ?? []) walk(c, depth + 1);
  };
  for (const root of spans.filter((s) => s.parent === undefined || !ids.has(s.parent))) walk(root, 0);
  return lines.join('\n');
}

test('in process: an ingest is one trace; jobs are children of the run, provider calls follow the GenAI conventions', () =>
  withSim(async (_sim, ctx) => {
    const exporter = new InMemorySpanExporter();
    let spans: ReadableSpan[] = [];
    await startTelemetry(ctx.config, 'embedq-test', { exporter });
    try {
      const s = await runIngest(ctx, { paths: [corpus(6)], index: 'kb', model: 'openai/text-embedding-3-small', dims: 64, tenant: 'acme', chunkTokens: 40, chunkOverlap: 0 });
      expect(s.embedded).toBeGreaterThan(0);
    } finally {
      // The exporter forgets its spans when it is shut down: take them first.
      spans = [...exporter.getFinishedSpans()];
      await stopTelemetry();
    }
    // The worker's own scheduled jobs (cache GC, polls) are traces of their own; the run is the trace of its root.
    const run = spans.find((x) => x.name === 'ingest kb')!.spanContext().traceId;
    const others = spans.filter((x) => x.spanContext().traceId !== run);
    for (const x of others) expect(x.name).toMatch(/^(batch-poll|cache-gc|ledger-sweep|spend-rollup) job$|^settle$/);
    spans = spans.filter((x) => x.spanContext().traceId === run);
    const traceIds = new Set([run]);
    const byId = new Map(spans.map((x) => [x.spanContext().spanId, x]));
    const parentOf = (x: ReadableSpan) => x.parentSpanContext?.spanId;
    const roots = spans.filter((x) => parentOf(x) === undefined);
    expect(roots.map((x) => x.name)).toEqual(['ingest kb']);
    for (const x of spans) if (x !== roots[0]) expect(byId.has(parentOf(x)!), `${x.name}'s parent is in the trace`).toBe(true);
    const ancestors = (x: ReadableSpan): string[] => (parentOf(x) ? [byId.get(parentOf(x)!)!.name, ...ancestors(byId.get(parentOf(x)!)!)] : []);

    const names = new Set(spans.map((x) => x.name));
    for (const n of ['ingest job', 'embed job', 'finalize job', 'embeddings text-embedding-3-small', 'write vectors', 'cache lookup']) expect(names, n).toContain(n);
    const call = spans.find((x) => x.name === 'embeddings text-embedding-3-small')!;
    expect(call.attributes).toMatchObject({
      'gen_ai.operation.name': 'embeddings',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': 'text-embedding-3-small',
      'gen_ai.request.encoding_formats': ['base64'],
      'server.address': '127.0.0.1',
      'embedq.model_version': 'openai/text-embedding-3-small@1:64',
      'embedq.deployment': 'openai',
      'embedq.attempt': 1,
      'embedq.mode': 'sync',
    });
    expect(call.attributes['gen_ai.usage.input_tokens']).toBeGreaterThan(0);
    expect(call.attributes['embedq.cost_usd']).toBeCloseTo(((call.attributes['gen_ai.usage.input_tokens'] as number) / 1e6) * 0.02, 12);
    expect(typeof call.attributes['gen_ai.response.model']).toBe('string');
    expect(ancestors(call).slice(0, 1)).toEqual(['embed job']);
    expect(ancestors(call).at(-1)).toBe('ingest kb');
    const embedJob = spans.find((x) => x.name === 'embed job')!;
    expect(embedJob.attributes).toMatchObject({ 'messaging.system': 'bullmq', 'messaging.destination.name': 'embed', 'embedq.tenant': 'acme', 'embedq.attempt': 1 });
    expect(roots[0]!.attributes).toMatchObject({ 'embedq.index': 'kb', 'embedq.tenant': 'acme', 'embedq.mode': 'sync' });
    expect(roots[0]!.resource.attributes).toMatchObject({ 'service.name': 'embedq-test', 'process.pid': process.pid });
    // No secret anywhere in the trace.
    expect(JSON.stringify(spans.map((x) => x.attributes))).not.toContain('sk-test');
    console.log(`trace ${[...traceIds][0]} (in-memory exporter):\n${tree(spans.map((x) => ({ id: x.spanContext().spanId, parent: parentOf(x), name: x.name, service: String(x.resource.attributes['service.name']), pid: x.resource.attributes['process.pid'] })))}`);
  }), 120_000); // a safety net for a loaded machine, not a bound

test('in process: a reembed is one trace (its backfill a child), and a gateway request continues the caller\'s traceparent', () =>
  withSim(async (_sim, ctx) => {
    await runIngest(ctx, { paths: [corpus(4, 60)], index: 'docs', chunkTokens: 40, chunkOverlap: 0 });
    const { secret } = await createApiKey(ctx.db, 'acme');
    const exporter = new InMemorySpanExporter();
    let spans: ReadableSpan[] = [];
    await startTelemetry(ctx.config, 'embedq-test', { exporter });
    const server = openServer(ctx);
    const callerTrace = '4bf92f3577b34da6a3ce929d0e0e4736';
    const callerSpan = '00f067aa0ba902b7';
    try {
      const re = await runReembedStart(ctx, { index: 'docs', to: 'openai/text-embedding-3-small', dims: 64, cutover: false });
      expect(re.migration!.state).toBe('ready');
      const res = await server.app.request('/v1/embeddings', {
        method: 'POST',
        headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json', traceparent: `00-${callerTrace}-${callerSpan}-01` },
        body: JSON.stringify({ model: 'openai/text-embedding-3-small', input: ['a text the cache has not seen'] }),
      });
      expect(res.status).toBe(200);
    } finally {
      spans = [...exporter.getFinishedSpans()];
      await server.close();
      await stopTelemetry();
    }
    const byId = new Map(spans.map((x) => [x.spanContext().spanId, x]));
    const parent = (x: ReadableSpan) => (x.parentSpanContext ? byId.get(x.parentSpanContext.spanId) : undefined);
    const root = (x: ReadableSpan): ReadableSpan => (parent(x) ? root(parent(x)!) : x);

    const reembed = spans.find((x) => x.name === 'reembed docs')!;
    expect(reembed.parentSpanContext).toBeUndefined();
    const backfill = spans.filter((x) => x.name === 'backfill job');
    expect(backfill.length).toBeGreaterThan(0);
    for (const b of backfill) expect(root(b)).toBe(reembed);
    const reembedCalls = spans.filter((x) => x.name === 'embeddings text-embedding-3-small' && root(x) === reembed);
    expect(reembedCalls.length).toBeGreaterThan(0);

    const request = spans.find((x) => x.name === 'POST /v1/embeddings')!;
    expect(request.spanContext().traceId).toBe(callerTrace);
    expect(request.parentSpanContext?.spanId).toBe(callerSpan);
    expect(request.attributes).toMatchObject({ 'http.response.status_code': 200, 'embedq.mode': 'online', 'embedq.cache_hits': 0 });
    const online = spans.filter((x) => x.name === 'embeddings text-embedding-3-small' && x.spanContext().traceId === callerTrace);
    expect(online).toHaveLength(1);
    expect(parent(online[0]!)).toBe(request);
    expect(JSON.stringify(spans.map((x) => x.attributes))).not.toContain(secret);
  }), 120_000); // a safety net for a loaded machine, not a bound

interface OtlpSpan { traceId: string; spanId: string; parentSpanId?: string; name: string; attributes?: { key: string; value: Record<string, unknown> }[] }
interface OtlpBody { resourceSpans: { resource: { attributes: { key: string; value: Record<string, unknown> }[] }; scopeSpans: { spans: OtlpSpan[] }[] }[] }
const attr = (list: { key: string; value: Record<string, unknown> }[] | undefined, key: string) => {
  const v = list?.find((a) => a.key === key)?.value;
  return v ? (v.stringValue ?? v.intValue ?? v.doubleValue ?? v.boolValue) : undefined;
};

/** An OTLP/HTTP JSON collector: keeps every span posted to /v1/traces with its resource. */
async function collector(): Promise<{ url: string; spans: (OtlpSpan & { service: string; pid: string })[]; close(): Promise<void> }> {
  const spans: (OtlpSpan & { service: string; pid: string })[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      if (req.url === '/v1/traces') {
        for (const rs of (JSON.parse(body) as OtlpBody).resourceSpans) {
          const service = String(attr(rs.resource.attributes, 'service.name'));
          const pid = String(attr(rs.resource.attributes, 'process.pid'));
          for (const ss of rs.scopeSpans) for (const sp of ss.spans) spans.push({ ...sp, service, pid });
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, spans, close: () => new Promise((r) => server.close(() => r())) };
}

function startWorker(env: Record<string, string>): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'worker'], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      if (/embedq worker: ready/.test(err)) resolve(child);
    });
    child.on('exit', (code) => reject(new Error(`worker exited with ${code}: ${err}`)));
  });
}

test('across processes: a CLI ingest and two worker processes export one trace over OTLP (http/json), the jobs children of the CLI root', () =>
  withSim(async (sim, ctx) => {
    const otlp = await collector();
    const env = {
      REDIS_URL: ctx.config.redisUrl,
      DATABASE_URL: ctx.config.databaseUrl,
      EMBEDQ_DB_SCHEMA: ctx.config.dbSchema,
      EMBEDQ_REDIS_PREFIX: ctx.config.redisPrefix,
      OPENAI_BASE_URL: sim.url,
      OPENAI_API_KEY: 'sk-test-0123456789',
      EMBEDQ_LOG_LEVEL: 'warn',
      OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_BSP_SCHEDULE_DELAY: '100',
    };
    const workers = await Promise.all([startWorker(env), startWorker(env)]);
    try {
      const r = await runCli(['ingest', corpus(150, 40), '--index', 'kb', '--model', 'openai/text-embedding-3-small', '--dims', '64', '--chunk-tokens', '40', '--chunk-overlap', '0', '--no-local-worker', '--json'], env, { timeoutMs: 120_000 });
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ failedJobs: 0 });
    } finally {
      // SIGTERM: each worker finishes, flushes its spans and exits.
      await Promise.all(workers.map((w) => new Promise((res) => (w.once('exit', res), w.kill('SIGTERM')))));
      await otlp.close();
    }
    const run = otlp.spans.find((x) => x.name === 'ingest kb')?.traceId;
    expect(run).toBeDefined();
    // Every span of the run's jobs is in the run's trace; the workers' scheduled jobs are traces of their own.
    for (const x of otlp.spans.filter((y) => y.traceId !== run)) expect(x.name).toMatch(/^(batch-poll|cache-gc|ledger-sweep|spend-rollup) job$|^settle$/);
    const spans = otlp.spans.filter((x) => x.traceId === run);
    const ids = new Set(spans.map((x) => x.spanId));
    const roots = spans.filter((x) => !x.parentSpanId);
    expect(roots.map((x) => [x.name, x.service])).toEqual([['ingest kb', 'embedq-ingest']]);
    for (const x of spans) if (x !== roots[0]) expect(ids.has(x.parentSpanId!), `${x.name}'s parent is in the trace`).toBe(true);
    const workerPids = new Set(workers.map((w) => String(w.pid)));
    const jobSpans = spans.filter((x) => x.name.endsWith(' job'));
    expect(jobSpans.length).toBeGreaterThan(0);
    for (const j of jobSpans) {
      expect(j.service).toBe('embedq-worker');
      expect(workerPids.has(j.pid), `job span from a worker process (pid ${j.pid})`).toBe(true);
    }
    // The ingest jobs are the root's own children: their parent was carried in the job data.
    for (const j of jobSpans.filter((x) => x.name === 'ingest job')) expect(j.parentSpanId).toBe(roots[0]!.spanId);
    expect(spans.some((x) => x.name === 'embeddings text-embedding-3-small' && attr(x.attributes, 'gen_ai.operation.name') === 'embeddings')).toBe(true);
    console.log(`trace over OTLP from ${new Set(spans.map((x) => x.pid)).size} processes:\n${tree(spans.map((x) => ({ id: x.spanId, parent: x.parentSpanId || undefined, name: x.name, service: x.service, pid: x.pid })))
      .split('\n')
      .slice(0, 40)
      .join('\n')}`);
  }), 240_000); // a safety net for a loaded machine (three processes), not a bound

test('with tracing off no OpenTelemetry module is loaded; with it on, they are', async ({ ctx }) => {
  const { config } = ctx;
  const dir = mkdtempSync(join(tmpdir(), 'embedq-otel-'));
  const log = join(dir, 'loaded.txt');
  // A resolve hook in the CLI process that writes down every @opentelemetry module it resolves.
  const hook = join(dir, 'hook.mjs');
  writeFileSync(
    hook,
    `import { registerHooks } from 'node:module'; import { appendFileSync } from 'node:fs';
registerHooks({ resolve(spec, ctx, next) { const r = next(spec, ctx); if (r.url.includes('@opentelemetry')) appendFileSync(${JSON.stringify(log)}, r.url + '\\n'); return r; } });\n`,
  );
  const env = { REDIS_URL: config.redisUrl, DATABASE_URL: config.databaseUrl, EMBEDQ_DB_SCHEMA: config.dbSchema, EMBEDQ_REDIS_PREFIX: config.redisPrefix, NODE_OPTIONS: `--import ${hook}` };
  const src = corpus(3, 90);
  writeFileSync(log, '');
  const off = await runCli(['ingest', src, '--index', 'off', '--json'], { ...env, OTEL_EXPORTER_OTLP_ENDPOINT: undefined });
  expect(off.code, off.stderr).toBe(0);
  expect(readFileSync(log, 'utf8')).toBe('');
  // On (an endpoint nobody listens on: spans are dropped, the run is not affected).
  const on = await runCli(['ingest', src, '--index', 'on', '--json'], { ...env, OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9', OTEL_EXPORTER_OTLP_TIMEOUT: '1000' });
  expect(on.code, on.stderr).toBe(0);
  expect(on.stderr).toMatch(/traces not sent/);
  expect(readFileSync(log, 'utf8')).toMatch(/@opentelemetry\/sdk-trace-node/);

  // The default protocol, http/protobuf, posts protobuf to /v1/traces (with the headers OTEL_EXPORTER_OTLP_HEADERS names).
  const posts: { url: string | undefined; type: string | undefined; auth: string | undefined; bytes: number }[] = [];
  const server = createServer((req, res) => {
    let bytes = 0;
    req.on('data', (d: Buffer) => (bytes += d.length));
    req.on('end', () => {
      posts.push({ url: req.url, type: req.headers['content-type'], auth: req.headers['authorization'], bytes });
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const { port } = server.address() as { port: number };
    const proto = await runCli(['ingest', src, '--index', 'proto', '--json'], { ...env, NODE_OPTIONS: undefined, OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`, OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer collector-secret' });
    expect(proto.code, proto.stderr).toBe(0);
    expect(proto.stderr).not.toMatch(/traces not sent/);
  } finally {
    await new Promise<void>((r) => server.close(() => r()));
  }
  expect(posts.length).toBeGreaterThan(0);
  for (const p of posts) expect(p).toMatchObject({ url: '/v1/traces', type: 'application/x-protobuf', auth: 'Bearer collector-secret' });
  expect(posts.reduce((n, p) => n + p.bytes, 0)).toBeGreaterThan(0);
});
