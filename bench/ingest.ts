/**
 * `npm run bench:ingest`: embedq's ingest against the provider simulator at zero latency, and the
 * floors measured in the same run on the same vectors: bare binary COPY into the same kind of
 * table, and CREATE INDEX … USING hnsw after it.
 *
 *   npm run bench:ingest -- --n 20000,100000 --dims 1536 [--separate-worker]
 *
 * With --separate-worker the CLI runs with --no-local-worker beside one `embedq worker` process,
 * and the peak RSS of each is reported (the worker's is its VmHWM, read before it is stopped);
 * without it the CLI's in-process worker is counted in the CLI's figure.
 *
 * Prints a Markdown table (paste into BENCHMARKS.md) and writes bench/.results/ingest-<ts>.json.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createReadStream, createWriteStream, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { pipeline } from 'node:stream/promises';
import { writeCorpus } from './corpus.ts';
import { startReady } from './spawn-ready.ts';

const ROOT = join(import.meta.dirname, '..');
const { values } = parseArgs({ options: { n: { type: 'string', default: '20000,100000' }, dims: { type: 'string', default: '1536' }, 'separate-worker': { type: 'boolean', default: false } } });
const SEPARATE = values['separate-worker']!;
const SIZES = values.n!.split(',').map(Number);
const DIMS = Number(values.dims);
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:56379';
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://embedq@127.0.0.1:55432/embedq';

async function startSim(): Promise<{ url: string; stats(): Promise<{ requests: number; inputs: number }>; reset(): Promise<void>; stop(): void }> {
  const child = spawn(process.execPath, [join(ROOT, 'test/support/simulator/index.ts'), '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve) => child.stdout.once('data', (d: Buffer) => resolve(d.toString())));
  const { url } = JSON.parse(line) as { url: string };
  const base = url.replace(/\/v1$/, '');
  return {
    url,
    stats: async () => (await (await fetch(`${base}/_sim/stats`)).json()) as { requests: number; inputs: number },
    reset: async () => void (await fetch(`${base}/_sim/reset`, { method: 'POST' })),
    stop: () => child.kill(),
  };
}

interface CliRun {
  summary: { chunks: number; embedded: number; durationMs: number; indexBuildMs: number; documentsSkipped: number };
  peakRssMb: number;
  wallMs: number;
}

/** Runs the real CLI under /usr/bin/time to read its peak RSS. */
function ingestWithRss(file: string, env: NodeJS.ProcessEnv): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const args = ['ingest', file, '--index', 'bench', '--model', 'openai/text-embedding-3-small', '--dims', String(DIMS), '--json', ...(SEPARATE ? ['--no-local-worker'] : [])];
    const child = spawn('/usr/bin/time', ['-f', 'MAXRSS_KB=%M', process.execPath, join(ROOT, 'bin/embedq'), ...args], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`embedq ingest exited ${code}: ${stderr.slice(-2000)}`));
      const kb = Number(/MAXRSS_KB=(\d+)/.exec(stderr)?.[1] ?? 0);
      resolve({ summary: JSON.parse(stdout), peakRssMb: kb / 1024, wallMs: Date.now() - t0 });
    });
  });
}

/** One `embedq worker` process; stop() ends it and answers its peak RSS (VmHWM) in MB. */
async function startWorker(env: NodeJS.ProcessEnv): Promise<{ stop(): Promise<number> }> {
  const { child } = await startReady([join(ROOT, 'bin/embedq'), 'worker'], { ...env, EMBEDQ_LOG_LEVEL: 'info' }, /embedq worker: ready/);
  return {
    stop: async () => {
      const kb = Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? 0);
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
      return kb / 1024;
    },
  };
}

/** The floor: the same rows, bare binary COPY into a fresh table of the same shape, then HNSW. */
async function floor(db: pg.Client, schema: string, table: string, dir: string): Promise<{ copyMs: number; hnswMs: number; rows: number }> {
  // Through a file, not memory: at N=1,000,000 the rows are gigabytes.
  const file = join(dir, `floor-${schema}.copy`);
  await pipeline(db.query(copyTo(`COPY ${schema}.${table} (chunk_id, model_version_id, input_hash, embedding) TO STDOUT (FORMAT binary)`)), createWriteStream(file));
  await db.query(`DROP TABLE IF EXISTS ${schema}.floor`);
  await db.query(`CREATE TABLE ${schema}.floor (chunk_id bigint PRIMARY KEY, model_version_id integer NOT NULL, input_hash bytea NOT NULL, embedding vector(${DIMS}) NOT NULL)`);
  let t = performance.now();
  await pipeline(createReadStream(file, { highWaterMark: 1 << 20 }), db.query(copyFrom(`COPY ${schema}.floor FROM STDIN (FORMAT binary)`)));
  const copyMs = performance.now() - t;
  rmSync(file);
  await db.query(`SET maintenance_work_mem = '1GB'`);
  t = performance.now();
  await db.query(`CREATE INDEX ON ${schema}.floor USING hnsw (embedding vector_cosine_ops)`);
  const hnswMs = performance.now() - t;
  const rows = Number((await db.query(`SELECT count(*) AS n FROM ${schema}.floor`)).rows[0].n);
  return { copyMs, hnswMs, rows };
}

async function main(): Promise<void> {
  const sim = await startSim();
  const db = new pg.Client(DATABASE_URL);
  await db.connect();
  const results: Record<string, unknown>[] = [];
  const dir = join(tmpdir(), 'embedq-bench');
  mkdirSync(dir, { recursive: true });
  try {
    for (const n of SIZES) {
      const file = join(dir, `corpus-${n}.jsonl`);
      await writeCorpus(n, file);
      const schema = `bench_${n}`;
      await db.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      const env = { ...process.env, REDIS_URL, DATABASE_URL, EMBEDQ_DB_SCHEMA: schema, EMBEDQ_REDIS_PREFIX: schema, OPENAI_BASE_URL: sim.url, OPENAI_API_KEY: 'sk-bench', EMBEDQ_LOG_LEVEL: 'silent', EMBEDQ_CHUNK_TOKENS: '512' };
      execFileSync(process.execPath, [join(ROOT, 'bin/embedq'), 'db', 'migrate'], { env, stdio: 'ignore' });
      await sim.reset();
      const uptime = execFileSync('uptime', { encoding: 'utf8' }).trim();
      let worker = SEPARATE ? await startWorker(env) : undefined;
      const first = await ingestWithRss(file, env);
      const firstWorkerRssMb = await worker?.stop();
      const firstReq = await sim.stats();
      await sim.reset();
      worker = SEPARATE ? await startWorker(env) : undefined;
      const rerun = await ingestWithRss(file, env);
      const rerunWorkerRssMb = await worker?.stop();
      const rerunReq = await sim.stats();
      const table = (await db.query(`SELECT table_name FROM ${schema}.index_versions LIMIT 1`)).rows[0].table_name as string;
      const f = await floor(db, schema, table, dir);
      const loadMs = first.summary.durationMs - first.summary.indexBuildMs;
      const r = {
        n,
        dims: DIMS,
        chunks: first.summary.chunks,
        firstMs: first.summary.durationMs,
        firstChunksPerSec: (n * 1000) / first.summary.durationMs,
        loadMs,
        loadChunksPerSec: (n * 1000) / loadMs,
        indexBuildMs: first.summary.indexBuildMs,
        firstRequests: firstReq.requests,
        firstInputs: firstReq.inputs,
        firstPeakRssMb: first.peakRssMb,
        rerunMs: rerun.summary.durationMs,
        rerunChunksPerSec: (n * 1000) / rerun.summary.durationMs,
        rerunRequests: rerunReq.requests,
        rerunPeakRssMb: rerun.peakRssMb,
        ...(SEPARATE ? { firstWorkerPeakRssMb: firstWorkerRssMb, rerunWorkerPeakRssMb: rerunWorkerRssMb } : {}),
        uptime,
        floorCopyMs: f.copyMs,
        floorCopyRowsPerSec: (f.rows * 1000) / f.copyMs,
        floorHnswMs: f.hnswMs,
        floorTotalMs: f.copyMs + f.hnswMs,
      };
      results.push(r);
      console.error(JSON.stringify(r));
      await db.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      rmSync(file);
    }
  } finally {
    sim.stop();
    await db.end();
  }
  mkdirSync(join(ROOT, 'bench/.results'), { recursive: true });
  writeFileSync(join(ROOT, `bench/.results/ingest-${Date.now()}.json`), JSON.stringify(results, null, 2));
  const fmt = (x: number) => Math.round(x).toLocaleString('en-US');
  console.log(`| N | dims | first run chunks/s (HNSW incl.) | load chunks/s (no HNSW) | HNSW build s | provider requests | peak RSS MB (CLI${SEPARATE ? ' / worker' : ', worker in it'}) | unchanged re-run chunks/s | re-run requests | floor: binary COPY rows/s | floor: COPY+HNSW s | embedq total / floor total | load / COPY floor rate | re-run speed-up |`);
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of results as Record<string, number>[])
    console.log(
      `| ${fmt(r.n!)} | ${r.dims} | ${fmt(r.firstChunksPerSec!)} | ${fmt(r.loadChunksPerSec!)} | ${(r.indexBuildMs! / 1000).toFixed(1)} | ${r.firstRequests} | ${fmt(r.firstPeakRssMb!)}${SEPARATE ? ` / ${fmt(r.firstWorkerPeakRssMb!)}` : ''} | ${fmt(r.rerunChunksPerSec!)} | ${r.rerunRequests} | ${fmt(r.floorCopyRowsPerSec!)} | ${(r.floorTotalMs! / 1000).toFixed(1)} | ${(r.firstMs! / r.floorTotalMs!).toFixed(2)}× | ${(r.loadChunksPerSec! / r.floorCopyRowsPerSec!).toFixed(2)} | ${(r.firstMs! / r.rerunMs!).toFixed(1)}× |`,
    );
}

await main();
