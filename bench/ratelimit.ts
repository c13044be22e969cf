/**
 * `npm run bench:ratelimit`: does the shared rate limiter saturate a provider without tripping it?
 * A provider simulator enforcing TPM/RPM over a real 60 s sliding window, N `embedq worker`
 * processes working through one ingest run, and after a warm-up one 60 s measurement: tokens/min
 * achieved as a fraction of the TPM limit, 429s and their share, and embed job latency from BullMQ's
 * own timestamps (finishedOn − processedOn, so limiter waits included).
 *
 *   npm run bench:ratelimit -- [--n 14000] [--dims 1536] [--tpm 1000000] [--rpm 3000] [--workers 2]
 *     [--warmup-s 30] [--measure-s 60] [--latency-ms 100] [--embed-batch 128]
 *
 * Prints a Markdown table (paste into BENCHMARKS.md) and writes bench/.results/ratelimit-<ts>.json.
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import pg from 'pg';
import { writeCorpus } from './corpus.ts';
import { startReady } from './spawn-ready.ts';

const ROOT = join(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin/embedq');
const MODEL = 'openai/text-embedding-3-small';
const { values: a } = parseArgs({
  options: {
    n: { type: 'string', default: '14000' },
    dims: { type: 'string', default: '1536' },
    tpm: { type: 'string', default: '1000000' },
    rpm: { type: 'string', default: '3000' },
    workers: { type: 'string', default: '2' },
    'warmup-s': { type: 'string', default: '30' },
    'measure-s': { type: 'string', default: '60' },
    'latency-ms': { type: 'string', default: '100' },
    'embed-batch': { type: 'string', default: '128' },
  },
});
const opt = Object.fromEntries(Object.entries(a).map(([k, v]) => [k, Number(v)])) as Record<keyof typeof a, number>;
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:56379';
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://embedq@127.0.0.1:55432/embedq';

interface SimStats {
  requests: number;
  tokens: number;
  byStatus: Record<string, number>;
}


function percentile(sorted: number[], p: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]! : NaN;
}

async function main(): Promise<void> {
  const run = `bench_rl_${Date.now()}`;
  const dir = mkdtempSync(join(tmpdir(), 'embedq-bench-rl-'));
  const file = join(dir, 'corpus.jsonl');
  await writeCorpus(opt.n, file);
  const configFile = join(dir, 'embedq.config.json');
  writeFileSync(configFile, JSON.stringify({ rateLimits: { [MODEL]: { tpm: opt.tpm, rpm: opt.rpm } } }));

  const sim = await startReady(
    [join(ROOT, 'test/support/simulator/index.ts'), '--port', '0', '--tpm', String(opt.tpm), '--rpm', String(opt.rpm), '--latency-ms', String(opt['latency-ms'])],
    process.env,
    /"url"/,
  );
  const simBase = (JSON.parse(sim.line) as { url: string }).url;
  const stats = async () => (await (await fetch(`${simBase.replace(/\/v1$/, '')}/_sim/stats`)).json()) as SimStats;
  const env = {
    ...process.env,
    REDIS_URL,
    DATABASE_URL,
    EMBEDQ_DB_SCHEMA: run,
    EMBEDQ_REDIS_PREFIX: run,
    EMBEDQ_CONFIG: configFile,
    OPENAI_BASE_URL: simBase,
    OPENAI_API_KEY: 'sk-bench',
    EMBEDQ_LOG_LEVEL: 'warn',
    EMBEDQ_EMBED_BATCH: String(opt['embed-batch']),
  };
  const workers: ChildProcess[] = [];
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const db = new pg.Client(DATABASE_URL);
  await db.connect();
  try {
    execFileSync(process.execPath, [BIN, 'db', 'migrate'], { env, stdio: 'ignore' });
    execFileSync(process.execPath, [BIN, 'ingest', file, '--index', 'bench', '--model', MODEL, '--dims', String(opt.dims), '--no-wait', '--json'], { env, stdio: 'ignore' });
    for (let i = 0; i < opt.workers; i++) workers.push((await startReady([BIN, 'worker'], env, /ready/)).child);

    // The clock starts with the first token the provider accepts.
    while ((await stats()).tokens === 0) await sleep(200);
    const t0 = Date.now();
    console.error(`bench: first tokens; warming up ${opt['warmup-s']} s, then measuring ${opt['measure-s']} s`);
    await sleep(opt['warmup-s'] * 1000);
    const [m0, s0] = [Date.now(), await stats()];
    await sleep(opt['measure-s'] * 1000);
    const [m1, s1] = [Date.now(), await stats()];

    const embed = new Queue('embed', { connection: redis, prefix: run });
    const jobs = await embed.getJobs(['completed'], 0, -1);
    const latencies = jobs
      .filter((j) => j.processedOn !== undefined && j.finishedOn !== undefined && j.finishedOn > m0 && j.finishedOn <= m1)
      .map((j) => j.finishedOn! - j.processedOn!)
      .sort((x, y) => x - y);
    await embed.close();
    const left = await stats();
    const tokensPerMin = ((s1.tokens - s0.tokens) * 60_000) / (m1 - m0);
    const requests = s1.requests - s0.requests;
    const rejected = (s1.byStatus['429'] ?? 0) - (s0.byStatus['429'] ?? 0);
    const result = {
      ...opt,
      warmupFromFirstTokenMs: m0 - t0,
      measuredMs: m1 - m0,
      tokensPerMin,
      tpmFraction: tokensPerMin / opt.tpm,
      requestsPerMin: (requests * 60_000) / (m1 - m0),
      requests,
      rejected429: rejected,
      rejectedShare: requests ? rejected / requests : 0,
      total429SinceStart: left.byStatus['429'] ?? 0,
      totalRequestsSinceStart: left.requests,
      embedJobs: latencies.length,
      jobP50Ms: percentile(latencies, 0.5),
      jobP95Ms: percentile(latencies, 0.95),
    };
    mkdirSync(join(ROOT, 'bench/.results'), { recursive: true });
    writeFileSync(join(ROOT, `bench/.results/ratelimit-${Date.now()}.json`), JSON.stringify(result, null, 2));
    const f = (x: number) => Math.round(x).toLocaleString('en-US');
    console.log(`| workers | limit TPM / RPM | dims | inputs per request | window | achieved tokens/min | of TPM | requests/min | of RPM | 429s (share) | embed job p50 / p95 s |`);
    console.log('|---|---|---|---|---|---|---|---|---|---|---|');
    console.log(
      `| ${opt.workers} | ${f(opt.tpm)} / ${f(opt.rpm)} | ${opt.dims} | ≤ ${opt['embed-batch']} | ${(result.measuredMs / 1000).toFixed(0)} s after ${(result.warmupFromFirstTokenMs / 1000).toFixed(0)} s warm-up | ${f(tokensPerMin)} | ${(result.tpmFraction * 100).toFixed(1)}% | ${f(result.requestsPerMin)} | ${((result.requestsPerMin / opt.rpm) * 100).toFixed(1)}% | ${rejected} of ${requests} (${(result.rejectedShare * 100).toFixed(2)}%) | ${(result.jobP50Ms / 1000).toFixed(1)} / ${(result.jobP95Ms / 1000).toFixed(1)} |`,
    );
  } finally {
    // The run is abandoned half-way on purpose: kill rather than drain (a drain waits for reservations).
    for (const w of workers) w.kill('SIGKILL');
    sim.child.kill();
    await db.query(`DROP SCHEMA IF EXISTS ${run} CASCADE`);
    await db.end();
    const keys = await redis.keys(`${run}:*`);
    if (keys.length) await redis.unlink(...keys);
    redis.disconnect();
  }
}

await main();
