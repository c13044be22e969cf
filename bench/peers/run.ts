/**
 * `npm run bench:peers`: embedq side by side with what its users would write instead — LangChain.js's
 * indexing API and LlamaIndex.TS's IngestionPipeline — on the same machine, the same corpus, the
 * same embedder (the provider simulator over HTTP at zero latency, 1536 dims), in the same run,
 * with the floor (bare binary COPY of the same vectors, then CREATE INDEX … USING hnsw) beside them.
 *
 *   npm run bench:peers -- [--n 20000,100000] [--reps 3,1] [--systems embedq,langchain,…] [--dims 1536]
 *                          [--max-load 1.5] [--load-wait-min 5]
 *
 * Before each system's repetition the harness waits (up to --load-wait-min) for the 1-minute load
 * average to fall to --max-load, so that no system runs in the wake of the one before, and records
 * `uptime`; a repetition that started above it anyway is marked in the report.
 *
 * Runs, each repeated (median, min–max), each system's ingest a process of its own under
 * /usr/bin/time (peak RSS), the simulator's request count read for every one:
 *   (a) first index into an empty store;
 *   (b) re-run on the unchanged corpus;
 *   (c) re-run with 10% of the documents changed, twice for every system: first with the HNSW index
 *       in place (as a user's live index always has it), then, after dropping it (untimed), with
 *       another rewrite of the same 10% and no HNSW index. The floor for (c) with HNSW: the same
 *       changed vectors, bare binary COPY in one session into the floor's table with its HNSW index
 *       built (the replaced rows deleted beforehand, untimed);
 *   (d) (a) with an HNSW index in place at the end. embedq builds its own at the end of a first load,
 *       so its (a) is that run minus the build; LangChain.js's PGVectorStore has createHnswIndex(),
 *       LlamaIndex.TS's has none (a plain CREATE INDEX): both run right after (a)'s load in the same
 *       process, timed separately and added, and the index is dropped (untimed) before (b) and
 *       rebuilt from its own definition (untimed) before (c) with HNSW.
 * A peer that fails at a size is recorded with its error, then measured at the largest size it
 * handles (halving), and is not tried at larger sizes.
 *
 * Prints a Markdown table and writes bench/.results/peers-<ts>.md and .json.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createReadStream, createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { writeCorpus, type Variant } from './corpus.ts';
import { renderMarkdown, type BenchReport, type Failure, type RunId, type Sample, type SystemId } from './report.ts';

const HERE = import.meta.dirname;
const ROOT = join(HERE, '../..');
const ALL: SystemId[] = ['floor', 'embedq', 'langchain', 'langchain-best', 'llamaindex', 'llamaindex-best'];
const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '20000,100000' },
    reps: { type: 'string', default: '3' },
    systems: { type: 'string', default: ALL.join(',') },
    dims: { type: 'string', default: '1536' },
    'timeout-min': { type: 'string', default: '60' },
    'max-load': { type: 'string', default: '1.5' },
    'load-wait-min': { type: 'string', default: '5' },
  },
});
const SIZES = values.n!.split(',').map(Number);
const REPS = values.reps!.split(',').map(Number);
const repsFor = (i: number) => REPS[Math.min(i, REPS.length - 1)]!;
const SYSTEMS = values.systems!.split(',') as SystemId[];
for (const s of SYSTEMS) if (!ALL.includes(s)) throw new Error(`--systems: unknown ${s}; known: ${ALL.join(', ')}`);
if (SYSTEMS.includes('floor') && !SYSTEMS.includes('embedq')) throw new Error('--systems: the floor copies the vectors embedq wrote, so it needs embedq too');
const DIMS = Number(values.dims);
const TIMEOUT_MS = Number(values['timeout-min']) * 60_000;
const MAX_LOAD = Number(values['max-load']);
const LOAD_WAIT_MS = Number(values['load-wait-min']) * 60_000;
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:56379';
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://embedq@127.0.0.1:55432/embedq';
const WORK = join(tmpdir(), 'embedq-bench-peers');
const log = (s: string) => process.stderr.write(`[bench:peers ${new Date().toISOString().slice(11, 19)}] ${s}\n`);

// ---------------------------------------------------------------------------------------------
// The simulator, as a process of its own (as bench/ingest.ts runs it).

interface Sim {
  url: string;
  stats(): Promise<{ requests: number; inputs: number; tokens: number }>;
  reset(): Promise<void>;
  stop(): void;
}

async function startSim(): Promise<Sim> {
  const child = spawn(process.execPath, [join(ROOT, 'test/support/simulator/index.ts'), '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    child.stdout.once('data', (d: Buffer) => resolve(d.toString()));
    child.once('exit', (code) => reject(new Error(`the provider simulator exited ${code} before it listened`)));
  });
  const { url } = JSON.parse(line) as { url: string };
  const base = url.replace(/\/v1$/, '');
  return {
    url,
    stats: async () => (await (await fetch(`${base}/_sim/stats`)).json()) as { requests: number; inputs: number; tokens: number },
    reset: async () => void (await fetch(`${base}/_sim/reset`, { method: 'POST' })),
    stop: () => child.kill(),
  };
}

// ---------------------------------------------------------------------------------------------
// Child processes under /usr/bin/time.

interface ChildRun {
  stdout: string;
  stderr: string;
  peakRssMb: number;
  wallMs: number;
  /** The machine's 1-minute load average when the run started (the machine is shared). */
  load1: number;
}

class ChildFailed extends Error {
  /** Which run of the repetition failed (set by the repetition). */
  run: RunId = 'a';
  readonly wallMs: number;
  readonly peakRssMb: number;
  constructor(message: string, wallMs: number, peakRssMb: number) {
    super(message);
    this.wallMs = wallMs;
    this.peakRssMb = peakRssMb;
  }
}

/** Runs one step of a repetition, labelling a failure with the run it belongs to. */
async function step<T>(run: RunId, f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    const err = e instanceof ChildFailed ? e : new ChildFailed(e instanceof Error ? e.message : String(e), 0, 0);
    err.run = run;
    throw err;
  }
}

/** The error line worth quoting from a failed child's stderr: the last `SomeError: …` / `error: …` line. */
function errorLine(stderr: string): string {
  const lines = stderr.split('\n').map((l) => l.trim()).filter((l) => l && !/^MAXRSS_KB=|^Command exited|^Command terminated|^Node\.js v/.test(l));
  const err = [...lines].reverse().find((l) => /^([A-Za-z]*Error|error)(\s*\[[^\]]*\])?: /.test(l));
  return (err ?? lines.at(-1) ?? 'no output').slice(0, 500);
}

function timed(cmd: string[], env: NodeJS.ProcessEnv): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const load1 = loadavg()[0]!;
    const child = spawn('/usr/bin/time', ['-f', 'MAXRSS_KB=%M', ...cmd], { env, stdio: ['ignore', 'pipe', 'pipe'], cwd: ROOT });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d;
      if (stderr.length > 4_000_000) stderr = stderr.slice(-1_000_000);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), TIMEOUT_MS);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const wallMs = Date.now() - t0;
      const peakRssMb = Number(/MAXRSS_KB=(\d+)/.exec(stderr)?.[1] ?? 0) / 1024;
      if (signal) return reject(new ChildFailed(`killed by ${signal} after ${Math.round(wallMs / 1000)} s (timeout ${TIMEOUT_MS / 60_000} min)`, wallMs, peakRssMb));
      if (code !== 0) return reject(new ChildFailed(errorLine(stderr), wallMs, peakRssMb));
      resolve({ stdout, stderr, peakRssMb, wallMs, load1 });
    });
  });
}

/** The JSON document a child printed: the whole of stdout (embedq --json), else its last line (the runners). */
function lastJson<T>(stdout: string): T {
  try {
    return JSON.parse(stdout) as T;
  } catch {
    return JSON.parse(stdout.trim().split('\n').at(-1)!) as T;
  }
}

/** Waits for the machine to be quiet (1-minute load ≤ --max-load, at most --load-wait-min), then reads `uptime`. */
async function quiet(): Promise<{ uptime: string; load1: number; waitedS: number }> {
  const t0 = Date.now();
  while (loadavg()[0]! > MAX_LOAD && Date.now() - t0 < LOAD_WAIT_MS) await new Promise((r) => setTimeout(r, 5_000));
  let uptime: string;
  try {
    uptime = execFileSync('uptime', { encoding: 'utf8' }).trim();
  } catch {
    uptime = `load average: ${loadavg().map((x) => x.toFixed(2)).join(', ')}`;
  }
  return { uptime, load1: loadavg()[0]!, waitedS: Math.round((Date.now() - t0) / 1000) };
}

// ---------------------------------------------------------------------------------------------
// Postgres helpers.

const db = new pg.Client(DATABASE_URL);

async function checkpoint(): Promise<void> {
  // Each timed run starts from a clean WAL state; needs superuser or pg_checkpoint (skipped otherwise).
  await db.query('CHECKPOINT').catch(() => undefined);
}

async function dropSchema(schema: string): Promise<void> {
  await db.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
}

/** Drops the schema's HNSW indexes; returns their definitions, so they can be built again. */
async function dropHnsw(schema: string): Promise<string[]> {
  const { rows } = await db.query<{ indexname: string; indexdef: string }>(`SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = $1 AND indexdef ILIKE '%USING hnsw%'`, [schema]);
  if (rows.length === 0) throw new Error(`no HNSW index in ${schema} to drop`);
  for (const r of rows) await db.query(`DROP INDEX ${schema}.${r.indexname}`);
  return rows.map((r) => r.indexdef);
}

/** Builds indexes again from their definitions (untimed), with the floor's maintenance_work_mem. */
async function rebuild(defs: string[]): Promise<void> {
  await db.query(`SET maintenance_work_mem = '1GB'`);
  for (const d of defs) await db.query(d);
  await db.query('RESET maintenance_work_mem');
}

function clearRedisPrefix(prefix: string): void {
  try {
    const keys = execFileSync('redis-cli', ['-u', REDIS_URL, '--scan', '--pattern', `${prefix}:*`], { encoding: 'utf8', maxBuffer: 256 << 20 }).split('\n').filter(Boolean);
    for (let i = 0; i < keys.length; i += 500) execFileSync('redis-cli', ['-u', REDIS_URL, 'UNLINK', ...keys.slice(i, i + 500)], { stdio: 'ignore' });
  } catch {
    log(`could not clear Redis keys ${prefix}:* (redis-cli missing?); they are left behind`);
  }
}

// ---------------------------------------------------------------------------------------------
// Corpora.

const corpora = new Map<string, string>();
async function corpus(n: number, variant: Variant): Promise<string> {
  const key = `${n}v${variant}`;
  let file = corpora.get(key);
  if (!file) {
    // One file name for every variant, in a directory per variant: embedq names a JSONL record's
    // document `<file>#<id>`, so a changed corpus must keep the file's name for its records to
    // replace the old ones (under another name they are new documents and nothing is replaced).
    const dir = join(WORK, `v${variant}`);
    mkdirSync(dir, { recursive: true });
    file = join(dir, `corpus-${n}.jsonl`);
    await writeCorpus(n, file, variant);
    corpora.set(key, file);
  }
  return file;
}

// ---------------------------------------------------------------------------------------------
// One repetition of (a)–(d) for one system at one size.

type Runs = Record<RunId, Sample>;
let sim: Sim;

function sample(n: number, ms: number, child: ChildRun, req: { requests: number; inputs: number }, extra: Partial<Sample> = {}): Sample {
  return { n, ms, chunksPerSec: (n * 1000) / ms, requests: req.requests, inputs: req.inputs, peakRssMb: child.peakRssMb, wallMs: child.wallMs, load1: child.load1, ...extra };
}

/**
 * embedq's revision as this checkout has it now: HEAD, "+dirty" when its sources have uncommitted
 * changes. Read before every embedq run, since `bin/embedq` runs the .ts sources of the working tree
 * and a shared tree can change while the benchmark runs.
 */
function embedqRevision(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src', 'jobs', 'workers', 'bin', 'migrations'], { cwd: ROOT, encoding: 'utf8' }).trim();
    return dirty ? `${head}+dirty` : head;
  } catch {
    return 'unknown (not a git checkout)';
  }
}

interface EmbedqSummary {
  chunks: number;
  embedded: number;
  cacheHits: number;
  documentsSkipped: number;
  durationMs: number;
  indexBuildMs: number;
  failedJobs: number;
  rejected: unknown[];
  /** Added here: embedqRevision() when the run started. */
  revision?: string;
}

async function embedqRep(n: number, rep: number): Promise<Runs & { schema: string }> {
  const schema = `peers_embedq_${n}_${rep}`;
  await dropSchema(schema);
  clearRedisPrefix(schema);
  const env = {
    ...process.env,
    REDIS_URL,
    DATABASE_URL,
    EMBEDQ_DB_SCHEMA: schema,
    EMBEDQ_REDIS_PREFIX: schema,
    OPENAI_BASE_URL: sim.url,
    OPENAI_API_KEY: 'sk-bench',
    EMBEDQ_LOG_LEVEL: 'silent',
  };
  execFileSync(process.execPath, [join(ROOT, 'bin/embedq'), 'db', 'migrate'], { env, stdio: 'ignore', cwd: ROOT });
  const ingest = async (file: string) => {
    await checkpoint();
    await sim.reset();
    const revision = embedqRevision();
    const child = await timed([process.execPath, join(ROOT, 'bin/embedq'), 'ingest', file, '--index', 'bench', '--model', 'openai/text-embedding-3-small', '--dims', String(DIMS), '--json'], env);
    const s = lastJson<EmbedqSummary>(child.stdout);
    if (s.failedJobs || s.rejected.length) throw new ChildFailed(`embedq: ${s.failedJobs} failed jobs, ${s.rejected.length} rejected`, child.wallMs, child.peakRssMb);
    return { child, s: { ...s, revision }, req: await sim.stats() };
  };
  const table = async () => (await db.query(`SELECT table_name FROM ${schema}.index_versions ORDER BY id DESC LIMIT 1`)).rows[0].table_name as string;
  const rows = async () => Number((await db.query(`SELECT count(*)::int AS n FROM ${schema}.${await table()}`)).rows[0].n);
  try {
    const first = await step('a', async () => ingest(await corpus(n, 0)));
    const firstRows = await rows();
    const detail = (s: EmbedqSummary) => ({ chunks: s.chunks, embedded: s.embedded, cacheHits: s.cacheHits, documentsSkipped: s.documentsSkipped, revision: s.revision });
    const a = sample(n, first.s.durationMs - first.s.indexBuildMs, first.child, first.req, { rows: firstRows, detail: detail(first.s) });
    const d = sample(n, first.s.durationMs, first.child, first.req, { rows: firstRows, hnswMs: first.s.indexBuildMs, detail: detail(first.s) });
    const floor = rep === 1 && SYSTEMS.includes('floor');
    if (floor) await saveFloorVectors(schema, await table(), n);
    const unchanged = await step('b', async () => ingest(await corpus(n, 0)));
    const b = sample(n, unchanged.s.durationMs, unchanged.child, unchanged.req, { rows: await rows(), detail: detail(unchanged.s) });
    if (floor) await db.query(`CREATE TEMP TABLE floor_before AS SELECT input_hash FROM ${schema}.${await table()}`);
    const live = await step('ch', async () => ingest(await corpus(n, 1)));
    const ch = sample(n, live.s.durationMs, live.child, live.req, { rows: await rows(), detail: detail(live.s) });
    if (floor) await saveFloorChanges(schema, await table(), n);
    await dropHnsw(schema);
    const changed = await step('c', async () => ingest(await corpus(n, 2)));
    const c = sample(n, changed.s.durationMs, changed.child, changed.req, { rows: await rows(), detail: detail(changed.s) });
    return { a, b, c, ch, d, schema };
  } finally {
    await dropSchema(schema);
    clearRedisPrefix(schema);
  }
}

interface RunnerResult {
  ms: number;
  loadMs: number;
  hnswMs: number;
  rows: number;
  detail: Record<string, unknown>;
  settings: Record<string, unknown>;
}

const settingsSeen: Partial<Record<SystemId, Record<string, unknown>>> = {};

async function peerRep(system: SystemId, n: number, rep: number): Promise<Runs> {
  const [lib, config] = system.split('-') as ['langchain' | 'llamaindex', string | undefined];
  const schema = `peers_${system.replace('-', '_')}_${n}_${rep}`;
  await dropSchema(schema);
  const env = { ...process.env, DATABASE_URL, OPENAI_BASE_URL: sim.url, OPENAI_API_KEY: 'sk-bench' };
  const run = async (file: string, hnsw: boolean) => {
    await checkpoint();
    await sim.reset();
    const child = await timed([process.execPath, join(HERE, `${lib}.ts`), '--corpus', file, '--schema', schema, '--config', config ?? 'defaults', '--dims', String(DIMS), ...(hnsw ? ['--hnsw'] : [])], env);
    const r = lastJson<RunnerResult>(child.stdout);
    settingsSeen[system] = r.settings;
    return { child, r, req: await sim.stats() };
  };
  try {
    const first = await step('a', async () => run(await corpus(n, 0), true));
    const a = sample(n, first.r.loadMs, first.child, first.req, { rows: first.r.rows, detail: first.r.detail });
    const d = sample(n, first.r.ms, first.child, first.req, { rows: first.r.rows, hnswMs: first.r.hnswMs, detail: first.r.detail });
    const hnsw = await dropHnsw(schema);
    const unchanged = await step('b', async () => run(await corpus(n, 0), false));
    const b = sample(n, unchanged.r.loadMs, unchanged.child, unchanged.req, { rows: unchanged.r.rows, detail: unchanged.r.detail });
    await rebuild(hnsw);
    const live = await step('ch', async () => run(await corpus(n, 1), false));
    const ch = sample(n, live.r.loadMs, live.child, live.req, { rows: live.r.rows, detail: live.r.detail });
    await dropHnsw(schema);
    const changed = await step('c', async () => run(await corpus(n, 2), false));
    const c = sample(n, changed.r.loadMs, changed.child, changed.req, { rows: changed.r.rows, detail: changed.r.detail });
    return { a, b, c, ch, d };
  } finally {
    await dropSchema(schema);
  }
}

// ---------------------------------------------------------------------------------------------
// The floor: embedq's vectors of rep 1, bare binary COPY into a fresh table of the same shape,
// then CREATE INDEX … USING hnsw (bench/ingest.ts's floor(), repeated).

const floorFile = (n: number) => join(WORK, `floor-${n}.copy`);
const floorChangesFile = (n: number) => join(WORK, `floor-${n}-changed.copy`);

async function saveFloorVectors(schema: string, table: string, n: number): Promise<void> {
  const out = db.query(copyTo(`COPY ${schema}.${table} (chunk_id, model_version_id, input_hash, embedding) TO STDOUT (FORMAT binary)`));
  await pipeline(out, createWriteStream(floorFile(n)));
}

/**
 * After embedq's (c) with HNSW: the vectors it wrote (rows whose input hash was not there before,
 * see floor_before) to a file, and the hashes it replaced in floor_replaced, both for the floor.
 */
async function saveFloorChanges(schema: string, table: string, n: number): Promise<void> {
  const out = db.query(
    copyTo(`COPY (SELECT chunk_id, model_version_id, input_hash, embedding FROM ${schema}.${table} t WHERE NOT EXISTS (SELECT 1 FROM floor_before b WHERE b.input_hash = t.input_hash)) TO STDOUT (FORMAT binary)`),
  );
  await pipeline(out, createWriteStream(floorChangesFile(n)));
  await db.query(`DROP TABLE IF EXISTS floor_replaced`);
  await db.query(`CREATE TEMP TABLE floor_replaced AS SELECT input_hash FROM floor_before b WHERE NOT EXISTS (SELECT 1 FROM ${schema}.${table} t WHERE t.input_hash = b.input_hash)`);
  await db.query('DROP TABLE floor_before');
}

async function floorRep(n: number, rep: number): Promise<{ a: Sample; d: Sample; ch: Sample }> {
  const schema = `peers_floor_${n}_${rep}`;
  await dropSchema(schema);
  await db.query(`CREATE SCHEMA ${schema}`);
  await db.query(`CREATE TABLE ${schema}.floor (chunk_id bigint PRIMARY KEY, model_version_id integer NOT NULL, input_hash bytea NOT NULL, embedding vector(${DIMS}) NOT NULL)`);
  await checkpoint();
  const load1 = loadavg()[0]!;
  let t = performance.now();
  await pipeline(createReadStream(floorFile(n), { highWaterMark: 1 << 20 }), db.query(copyFrom(`COPY ${schema}.floor FROM STDIN (FORMAT binary)`)));
  const copyMs = performance.now() - t;
  await db.query(`SET maintenance_work_mem = '1GB'`);
  t = performance.now();
  await db.query(`CREATE INDEX ON ${schema}.floor USING hnsw (embedding vector_cosine_ops)`);
  const hnswMs = performance.now() - t;
  await db.query('RESET maintenance_work_mem');
  const rows = Number((await db.query(`SELECT count(*)::int AS n FROM ${schema}.floor`)).rows[0].n);
  // (c) with HNSW: the rows embedq replaced go (untimed, as a delete leaves HNSW's graph as it is),
  // then its new vectors come in by one binary COPY, each an HNSW insert. The rate is per corpus
  // chunk, as every system's (c) is, so the times compare.
  await db.query(`DELETE FROM ${schema}.floor f USING floor_replaced r WHERE f.input_hash = r.input_hash`);
  await checkpoint();
  const load1c = loadavg()[0]!;
  t = performance.now();
  await pipeline(createReadStream(floorChangesFile(n), { highWaterMark: 1 << 20 }), db.query(copyFrom(`COPY ${schema}.floor FROM STDIN (FORMAT binary)`)));
  const changeMs = performance.now() - t;
  const rowsAfter = Number((await db.query(`SELECT count(*)::int AS n FROM ${schema}.floor`)).rows[0].n);
  await dropSchema(schema);
  const none = { requests: 0, inputs: 0, peakRssMb: 0, wallMs: 0, load1 };
  return {
    a: { n: rows, ms: copyMs, chunksPerSec: (rows * 1000) / copyMs, ...none, rows },
    d: { n: rows, ms: copyMs + hnswMs, chunksPerSec: (rows * 1000) / (copyMs + hnswMs), ...none, rows, hnswMs },
    ch: { n: rows, ms: changeMs, chunksPerSec: (rows * 1000) / changeMs, ...none, load1: load1c, rows: rowsAfter },
  };
}

// ---------------------------------------------------------------------------------------------

function versionOf(pkg: string, base = join(HERE, 'node_modules')): string {
  try {
    return (JSON.parse(readFileSync(join(base, pkg, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'not installed';
  }
}

async function environment(): Promise<BenchReport['environment']> {
  const show = async (k: string) => (await db.query(`SHOW ${k}`)).rows[0][k] as string;
  const settings: Record<string, string> = {};
  for (const k of ['shared_buffers', 'maintenance_work_mem', 'max_parallel_maintenance_workers', 'synchronous_commit', 'work_mem', 'max_wal_size', 'wal_level', 'fsync']) settings[k] = await show(k);
  const pgVersion = (await db.query('SHOW server_version')).rows[0].server_version as string;
  const pgvector = ((await db.query(`SELECT extversion FROM pg_extension WHERE extname = 'vector'`)).rows[0]?.extversion as string | undefined) ?? '?';
  const packages: Record<string, string> = { embedq: `${(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version} (${embedqRevision()} at the start)` };
  for (const p of ['@langchain/core', '@langchain/community', '@langchain/openai', 'llamaindex', '@llamaindex/core', '@llamaindex/postgres', '@llamaindex/openai', 'pg', 'pgvector']) packages[p] = versionOf(p);
  // The openai SDK each one talks through (nested when its range differs from the hoisted copy).
  const nested = (owner: string) => {
    const v = versionOf('openai', join(HERE, 'node_modules', owner, 'node_modules'));
    return v === 'not installed' ? versionOf('openai') : v;
  };
  packages['openai SDK of @langchain/openai'] = nested('@langchain/openai');
  packages['openai SDK of @llamaindex/openai'] = nested('@llamaindex/openai');
  packages['openai SDK of embedq'] = versionOf('openai', join(ROOT, 'node_modules'));
  return {
    node: process.version,
    cpus: `${cpus().length} × ${cpus()[0]?.model ?? '?'}`,
    memoryGb: Math.round(totalmem() / 2 ** 30),
    postgres: `${pgVersion}, pgvector ${pgvector}`,
    postgresSettings: settings,
    packages,
  };
}

async function main(): Promise<void> {
  const startedAt = new Date();
  await db.connect();
  sim = await startSim();
  const samples: BenchReport['samples'] = [];
  const failures: Failure[] = [];
  const uptimes: NonNullable<BenchReport['uptimes']> = [];
  const add = (system: SystemId, run: keyof Runs, s: Sample) => samples.push({ system, run, ...s });
  const failedAt = new Map<SystemId, number>();
  const env = await environment();
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
  mkdirSync(join(ROOT, 'bench/.results'), { recursive: true });
  /** The report so far; written after every repetition, so a run cut short still leaves its data. */
  const build = (finishedAt?: Date): BenchReport => {
    const report: BenchReport = {
      startedAt: startedAt.toISOString(),
      finishedAt: (finishedAt ?? new Date()).toISOString(),
      ...(finishedAt ? {} : { partial: true }),
      command: `npm run bench:peers -- --n ${SIZES.join(',')} --reps ${REPS.join(',')}${values.systems !== ALL.join(',') ? ` --systems ${values.systems}` : ''}${DIMS !== 1536 ? ` --dims ${DIMS}` : ''}${values['max-load'] !== '1.5' ? ` --max-load ${values['max-load']}` : ''}${values['load-wait-min'] !== '5' ? ` --load-wait-min ${values['load-wait-min']}` : ''}`,
      dims: DIMS,
      sizes: SIZES,
      reps: SIZES.map((_, i) => repsFor(i)),
      environment: env,
      settings: settingsSeen,
      samples,
      failures,
      maxLoad: MAX_LOAD,
      uptimes,
    };
    writeFileSync(join(ROOT, `bench/.results/peers-${stamp}.json`), `${JSON.stringify(report, null, 2)}\n`);
    return report;
  };
  try {
    for (const [i, n] of SIZES.entries()) {
      const reps = repsFor(i);
      log(`N=${n}: ${reps} repetitions of ${SYSTEMS.join(', ')}`);
      const effectiveN = new Map<SystemId, number>();
      for (const s of SYSTEMS) {
        const smaller = failedAt.get(s);
        if (smaller !== undefined && smaller <= n) failures.push({ system: s, n, run: 'a', message: `not attempted: fails at N=${smaller.toLocaleString('en-US')}`, skipped: true });
        else effectiveN.set(s, n);
      }
      for (let rep = 1; rep <= reps; rep++) {
        for (const system of SYSTEMS) {
          if (system === 'floor') continue; // right after embedq, below
          for (;;) {
            const m = effectiveN.get(system);
            if (m === undefined) break;
            const q = await quiet();
            uptimes.push({ system, n: m, rep, ...q, aboveMax: q.load1 > MAX_LOAD });
            log(`${system} N=${m} rep ${rep}/${reps} (${q.uptime}${q.waitedS ? `; waited ${q.waitedS} s for it` : ''})`);
            try {
              const r = system === 'embedq' ? await embedqRep(m, rep) : await peerRep(system, m, rep);
              for (const run of ['a', 'b', 'ch', 'c', 'd'] as const) add(system, run, r[run]);
              log(`  (a) ${Math.round(r.a.chunksPerSec)} (b) ${Math.round(r.b.chunksPerSec)} (c, HNSW) ${Math.round(r.ch.chunksPerSec)} (c) ${Math.round(r.c.chunksPerSec)} (d) ${Math.round(r.d.chunksPerSec)} chunks/s; requests ${r.a.requests}/${r.b.requests}/${r.ch.requests}/${r.c.requests}; peak RSS ${Math.round(r.a.peakRssMb)} MB`);
              if (system === 'embedq' && SYSTEMS.includes('floor')) {
                const f = await floorRep(m, rep);
                add('floor', 'a', f.a);
                add('floor', 'd', f.d);
                add('floor', 'ch', f.ch);
                log(`  floor: COPY ${Math.round(f.a.chunksPerSec)} rows/s, COPY+HNSW ${Math.round(f.d.chunksPerSec)} rows/s, (c) with HNSW ${Math.round(f.ch.ms)} ms`);
              }
              build();
              break;
            } catch (e) {
              const err = e instanceof ChildFailed ? e : new ChildFailed(e instanceof Error ? e.message : String(e), 0, 0);
              log(`  FAILED at N=${m}: ${err.message}`);
              failures.push({ system, n: m, run: err.run, message: err.message, afterMs: err.wallMs, peakRssMb: err.peakRssMb });
              build();
              if (system === 'embedq' || err.run !== 'a' || m <= 1000) {
                effectiveN.delete(system);
                break;
              }
              failedAt.set(system, Math.min(failedAt.get(system) ?? Infinity, m));
              // Measure it at the largest size it handles: halve (to a round thousand) until it works.
              effectiveN.set(system, Math.max(1000, Math.floor(m / 2 / 1000) * 1000));
            }
          }
        }
      }
      for (const f of [floorFile(n), floorChangesFile(n)]) if (existsSync(f)) rmSync(f);
    }
    const md = renderMarkdown(build(new Date()));
    writeFileSync(join(ROOT, `bench/.results/peers-${stamp}.md`), md);
    process.stdout.write(md);
    log(`wrote bench/.results/peers-${stamp}.md and .json`);
  } finally {
    sim.stop();
    await db.end();
    rmSync(WORK, { recursive: true, force: true });
  }
}

await main();
