/**
 * `npm run bench:ingest`: embedq's ingest against the provider simulator at zero latency, and the
 * floors measured in the same run on the same vectors: bare binary COPY into the same kind of
 * table, and CREATE INDEX … USING hnsw after it.
 *
 *   npm run bench:ingest -- --n 20000,100000 --dims 1536 [--separate-worker] [--cpu-prof <dir>]
 *
 * --cpu-prof writes a V8 CPU profile of every embedq process (CLI, worker) into <dir>
 * (`node --cpu-prof`); open them in Chrome DevTools or summarize with bench/cpu-profile.ts.
 *
 * With --separate-worker the CLI runs with --no-local-worker beside one `embedq worker` process,
 * and the peak RSS of each is reported (the worker's is its VmHWM, read before it is stopped);
 * without it the CLI's in-process worker is counted in the CLI's figure.
 *
 * CPU-seconds per 1,000 chunks of the first run come in parts: the CLI (/usr/bin/time's user+sys),
 * the worker (its /proc stat, read before it is stopped), the simulator, and Postgres (every
 * process of the local postmaster, with the backends it reaped); "—" when Postgres is not local.
 *
 * Prints a Markdown table (paste into BENCHMARKS.md) and writes bench/.results/ingest-<ts>.json.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createReadStream, createWriteStream, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { pipeline } from 'node:stream/promises';
import { writeCorpus } from './corpus.ts';
import { startReady } from './spawn-ready.ts';

const ROOT = join(import.meta.dirname, '..');
const { values } = parseArgs({ options: { n: { type: 'string', default: '20000,100000' }, dims: { type: 'string', default: '1536' }, 'separate-worker': { type: 'boolean', default: false }, 'cpu-prof': { type: 'string' } } });
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** A process's CPU-seconds from /proc: its own (user+sys) and its reaped children's; undefined if it is not here. */
function procCpu(pid: number): { self: number; children: number; ppid: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after "(comm)": state ppid … utime(14) stime(15) cutime(16) cstime(17), 1-based over the whole line.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
    return { self: (f[11]! + f[12]!) / CLK_TCK, children: (f[13]! + f[14]!) / CLK_TCK, ppid: f[1]! };
  } catch {
    return undefined;
  }
}

/** CPU-seconds of the postmaster and everything under it, or undefined when Postgres runs elsewhere. */
function postgresCpu(postmaster: number | undefined): number | undefined {
  if (postmaster === undefined) return undefined;
  const pm = procCpu(postmaster);
  if (!pm) return undefined;
  let total = pm.self + pm.children;
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    const p = procCpu(Number(e));
    if (p && p.ppid === postmaster) total += p.self;
  }
  return total;
}
const SEPARATE = values['separate-worker']!;
const SIZES = values.n!.split(',').map(Number);
const DIMS = Number(values.dims);
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:56379';
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://embedq@127.0.0.1:55432/embedq';

async function startSim(): Promise<{ url: string; pid: number; stats(): Promise<{ requests: number; inputs: number }>; reset(): Promise<void>; stop(): void }> {
  const child = spawn(process.execPath, [join(ROOT, 'test/support/simulator/index.ts'), '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve) => child.stdout.once('data', (d: Buffer) => resolve(d.toString())));
  const { url } = JSON.parse(line) as { url: string };
  const base = url.replace(/\/v1$/, '');
  return {
    url,
    pid: child.pid!,
    stats: async () => (await (await fetch(`${base}/_sim/stats`)).json()) as { requests: number; inputs: number },
    reset: async () => void (await fetch(`${base}/_sim/reset`, { method: 'POST' })),
    stop: () => child.kill(),
  };
}

interface CliRun {
  summary: { chunks: number; embedded: number; durationMs: number; indexBuildMs: number; documentsSkipped: number };
  peakRssMb: number;
  cpuSec: number;
  wallMs: number;
}

/** Runs the real CLI under /usr/bin/time to read its peak RSS. */
function ingestWithRss(file: string, env: NodeJS.ProcessEnv): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const args = ['ingest', file, '--index', 'bench', '--model', 'openai/text-embedding-3-small', '--dims', String(DIMS), '--json', ...(SEPARATE ? ['--no-local-worker'] : [])];
    const child = spawn('/usr/bin/time', ['-f', 'MAXRSS_KB=%M CPU_S=%U+%S', process.execPath, join(ROOT, 'bin/embedq'), ...args], {
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
      const cpu = /CPU_S=([\d.]+)\+([\d.]+)/.exec(stderr);
      resolve({ summary: JSON.parse(stdout), peakRssMb: kb / 1024, cpuSec: cpu ? Number(cpu[1]) + Number(cpu[2]) : NaN, wallMs: Date.now() - t0 });
    });
  });
}

/** One `embedq worker` process; stop() ends it and answers its peak RSS (VmHWM) in MB and its CPU-seconds. */
async function startWorker(env: NodeJS.ProcessEnv): Promise<{ stop(): Promise<{ rssMb: number; cpuSec: number }> }> {
  const { child } = await startReady([join(ROOT, 'bin/embedq'), 'worker'], { ...env, EMBEDQ_LOG_LEVEL: 'info' }, /embedq worker: ready/);
  return {
    stop: async () => {
      const kb = Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? 0);
      const cpuSec = procCpu(child.pid!)?.self ?? NaN;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
      return { rssMb: kb / 1024, cpuSec };
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
  const backend = (await db.query('SELECT pg_backend_pid() AS pid')).rows[0].pid as number;
  const postmaster = procCpu(backend)?.ppid;
  const results: Record<string, unknown>[] = [];
  const dir = join(tmpdir(), 'embedq-bench');
  mkdirSync(dir, { recursive: true });
  try {
    for (const n of SIZES) {
      const file = join(dir, `corpus-${n}.jsonl`);
      await writeCorpus(n, file);
      const schema = `bench_${n}`;
      await db.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      const env = { ...process.env, REDIS_URL, DATABASE_URL, EMBEDQ_DB_SCHEMA: schema, EMBEDQ_REDIS_PREFIX: schema, OPENAI_BASE_URL: sim.url, OPENAI_API_KEY: 'sk-bench', EMBEDQ_LOG_LEVEL: 'silent', EMBEDQ_CHUNK_TOKENS: '512', ...(values['cpu-prof'] ? { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --cpu-prof --cpu-prof-dir=${values['cpu-prof']}`.trim() } : {}) };
      execFileSync(process.execPath, [join(ROOT, 'bin/embedq'), 'db', 'migrate'], { env, stdio: 'ignore' });
      await sim.reset();
      const uptime = execFileSync('uptime', { encoding: 'utf8' }).trim();
      let worker = SEPARATE ? await startWorker(env) : undefined;
      const [pg0, sim0] = [postgresCpu(postmaster), procCpu(sim.pid)?.self ?? NaN];
      const first = await ingestWithRss(file, env);
      const firstWorker = await worker?.stop();
      const [pg1, sim1] = [postgresCpu(postmaster), procCpu(sim.pid)?.self ?? NaN];
      const firstReq = await sim.stats();
      await sim.reset();
      worker = SEPARATE ? await startWorker(env) : undefined;
      const rerun = await ingestWithRss(file, env);
      const rerunWorker = await worker?.stop();
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
        ...(SEPARATE ? { firstWorkerPeakRssMb: firstWorker!.rssMb, rerunWorkerPeakRssMb: rerunWorker!.rssMb } : {}),
        // CPU-seconds per 1,000 chunks of the first run (HNSW build included in Postgres's part).
        cpuPer1k: {
          cli: (first.cpuSec * 1000) / n,
          worker: firstWorker ? (firstWorker.cpuSec * 1000) / n : null,
          postgres: pg0 !== undefined && pg1 !== undefined ? ((pg1 - pg0) * 1000) / n : null,
          simulator: ((sim1 - sim0) * 1000) / n,
        },
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
  const c2 = (x: number | null | undefined) => (x === null || x === undefined || Number.isNaN(x) ? '—' : x.toFixed(2));
  console.log('');
  console.log(`| N | dims | CPU-s per 1,000 chunks, first run: embedq CLI${SEPARATE ? '' : ' (worker in it)'} | embedq worker | Postgres | simulator | embedq's share |`);
  console.log('|---|---|---:|---:|---:|---:|---:|');
  for (const r of results as { n: number; dims: number; cpuPer1k: { cli: number; worker: number | null; postgres: number | null; simulator: number } }[]) {
    const c = r.cpuPer1k;
    const embedq = c.cli + (c.worker ?? 0);
    const all = embedq + (c.postgres ?? 0) + c.simulator;
    console.log(`| ${fmt(r.n)} | ${r.dims} | ${c2(c.cli)} | ${c2(c.worker)} | ${c2(c.postgres)} | ${c2(c.simulator)} | ${c.postgres === null ? '—' : `${Math.round((embedq * 100) / all)}%`} |`);
  }
}

await main();
