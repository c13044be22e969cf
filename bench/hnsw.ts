/**
 * What the HNSW settings and the write layout cost in Postgres alone, with no embedq process in
 * the way (issue #14, items 2 and 3):
 *
 *   npm run bench:hnsw -- [--n 20000] [--dims 1536] [--change 0.1] [--queries 100]
 *
 * 1. Build: `CREATE INDEX … USING hnsw` over n rows at maintenance_work_mem 64MB and 1GB, and at
 *    hnsw.ef_construction 32, 64 (pgvector's default) and 128, with recall@10 of `queries`
 *    held-out vectors against an exact scan (hnsw.ef_search 40, the default).
 * 2. Change: binary COPY of change×n new rows into the indexed table, per ef_construction, and
 *    the share of the index at which building a new index beside the live one (full build)
 *    costs less than inserting into it.
 * 3. Write once: the first-load write of n vectors as embedq does it today (a binary COPY into
 *    the cache and one into the index table) against one COPY into an index table that also
 *    carries a btree on input_hash (what cache lookups would need if the index tables were the
 *    cache).
 *
 * Vectors are seeded pseudo-random, with a low intrinsic dimension as real embeddings have (see
 * unitVector); recall depends on that choice, so compare rows with each other, not with a model.
 * Everything runs in a scratch schema that is dropped at the end. Figures go to stdout as a
 * Markdown table and to bench/.results/hnsw-<time>.json with `uptime`.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { copyBinary, encodeBinaryCopy, type Cell } from '../src/store/copy-binary.ts';

const ROOT = join(import.meta.dirname, '..');
const { values } = parseArgs({
  options: { n: { type: 'string', default: '20000' }, dims: { type: 'string', default: '1536' }, change: { type: 'string', default: '0.1' }, queries: { type: 'string', default: '100' } },
});
const N = Number(values.n);
const DIMS = Number(values.dims);
const CHANGE = Math.round(N * Number(values.change));
const QUERIES = Number(values.queries);
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://embedq@127.0.0.1:55432/embedq';
const SCHEMA = 'bench_hnsw';

let seed = 0x9e3779b9;
/** xorshift32 in [0, 1). */
const rnd = (): number => {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) / 2 ** 32;
};
// Real embeddings have a low intrinsic dimension (they cluster); uniform random directions in
// 1,536 dims are all nearly equidistant, which no ANN index can rank. So each vector is a random
// mix of INTRINSIC fixed directions plus a little isotropic noise, then normalized.
const INTRINSIC = 32;
const gauss = (): number => Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
const basis = Array.from({ length: INTRINSIC }, () => Float32Array.from({ length: DIMS }, gauss));
function unitVector(): Float32Array {
  const v = Float32Array.from({ length: DIMS }, () => 0.3 * gauss());
  for (const b of basis) {
    const a = gauss();
    for (let i = 0; i < DIMS; i++) v[i]! += a * b[i]!;
  }
  let s = 0;
  for (let i = 0; i < DIMS; i++) s += v[i]! * v[i]!;
  const k = 1 / Math.sqrt(s);
  for (let i = 0; i < DIMS; i++) v[i]! *= k;
  return v;
}
const hashOf = (i: number): Buffer => {
  const b = Buffer.alloc(32);
  b.writeUInt32BE(i, 0);
  b.writeUInt32BE(Math.floor(rnd() * 2 ** 32), 4);
  return b;
};

const base = Array.from({ length: N }, unitVector);
const changed = Array.from({ length: CHANGE }, unitVector);
const queries = Array.from({ length: QUERIES }, unitVector);
const hashes = Array.from({ length: N + CHANGE }, (_, i) => hashOf(i));

const indexRows = (vs: Float32Array[], offset: number): Cell[][] =>
  vs.map((v, i) => [
    { t: 'int8', v: offset + i },
    { t: 'text', v: 'bench' },
    { t: 'int4', v: 1 },
    { t: 'bytea', v: hashes[offset + i]! },
    { t: 'vector', v },
  ]);
const basePayload = encodeBinaryCopy(indexRows(base, 0));
const changePayload = encodeBinaryCopy(indexRows(changed, N));
const cachePayload = encodeBinaryCopy(base.map((v, i): Cell[] => [{ t: 'bytea', v: hashes[i]! }, { t: 'int4', v: 1 }, { t: 'vector', v }]));

const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 1 });
const client = await pool.connect();
const q = (sql: string): Promise<pg.QueryResult> => client.query(sql);
const timed = async (fn: () => Promise<unknown>): Promise<number> => {
  const t = performance.now();
  await fn();
  return performance.now() - t;
};
const vecLiteral = (v: Float32Array): string => `[${Array.from(v).join(',')}]`;

async function freshIndexTable(name: string, extra = ''): Promise<void> {
  await q(`DROP TABLE IF EXISTS ${SCHEMA}.${name}`);
  await q(`CREATE TABLE ${SCHEMA}.${name} (chunk_id bigint PRIMARY KEY, tenant text NOT NULL, model_version_id integer NOT NULL, input_hash bytea NOT NULL, embedding vector(${DIMS}) NOT NULL)`);
  await q(`CREATE INDEX ON ${SCHEMA}.${name} (tenant)`);
  if (extra) await q(extra.replaceAll('$T', `${SCHEMA}.${name}`));
}

async function recall(table: string): Promise<number> {
  let found = 0;
  for (const v of queries) {
    const lit = vecLiteral(v);
    await q('SET enable_indexscan = off');
    const exact = (await q(`SELECT chunk_id FROM ${SCHEMA}.${table} ORDER BY embedding <=> '${lit}' LIMIT 10`)).rows.map((r) => r.chunk_id);
    await q('RESET enable_indexscan');
    const approx = new Set((await q(`SELECT chunk_id FROM ${SCHEMA}.${table} ORDER BY embedding <=> '${lit}' LIMIT 10`)).rows.map((r) => r.chunk_id));
    found += exact.filter((id) => approx.has(id)).length;
  }
  return found / (10 * queries.length);
}

const uptime = execFileSync('uptime', { encoding: 'utf8' }).trim();
await q(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
await q(`CREATE SCHEMA ${SCHEMA}`);

interface BuildRow { mwm: string; efc: number; buildMs: number; recall: number; insertMs: number; insertRowsPerSec: number; buildRowsPerSec: number; swapShare: number }
const builds: BuildRow[] = [];
for (const [mwm, efc] of [['64MB', 64], ['1GB', 32], ['1GB', 64], ['1GB', 128]] as const) {
  await freshIndexTable('t');
  await copyBinary(client, `${SCHEMA}.t`, basePayload);
  await q(`SET maintenance_work_mem = '${mwm}'`);
  const buildMs = await timed(() => q(`CREATE INDEX t_hnsw ON ${SCHEMA}.t USING hnsw (embedding vector_cosine_ops) WITH (ef_construction = ${efc})`));
  await q('RESET maintenance_work_mem');
  await q(`ANALYZE ${SCHEMA}.t`);
  const r = await recall('t');
  const insertMs = await timed(() => copyBinary(client, `${SCHEMA}.t`, changePayload));
  const insertRowsPerSec = (CHANGE * 1000) / insertMs;
  const buildRowsPerSec = (N * 1000) / buildMs;
  // Inserting k rows costs k/insertRate; a full build beside the live index costs (n+k)/buildRate
  // (roughly n/buildRate). Building beside wins once k/n exceeds insertRate/buildRate.
  builds.push({ mwm, efc, buildMs, recall: r, insertMs, insertRowsPerSec, buildRowsPerSec, swapShare: insertRowsPerSec / buildRowsPerSec });
  console.error(`built mwm=${mwm} ef_construction=${efc}: ${(buildMs / 1000).toFixed(1)} s, recall@10 ${r.toFixed(3)}, insert ${CHANGE} rows ${(insertMs / 1000).toFixed(1)} s`);
}

// Write once or twice, first load (no HNSW yet, as embedq's first load): three repetitions, median.
await q(`CREATE TABLE ${SCHEMA}.mv (id integer PRIMARY KEY)`);
await q(`INSERT INTO ${SCHEMA}.mv VALUES (1)`);
const twice: number[] = [];
const once: number[] = [];
for (let rep = 0; rep < 3; rep++) {
  await q(`DROP TABLE IF EXISTS ${SCHEMA}.cache`);
  // The cache's shape (migrations/0001_init.sql), with embedq's EXTERNAL storage for vectors.
  await q(`CREATE TABLE ${SCHEMA}.cache (input_hash bytea PRIMARY KEY, model_version_id integer NOT NULL REFERENCES ${SCHEMA}.mv (id), embedding vector NOT NULL, created_at timestamptz NOT NULL DEFAULT now())`);
  await q(`ALTER TABLE ${SCHEMA}.cache ALTER embedding SET STORAGE EXTERNAL`);
  await freshIndexTable('w2');
  twice.push(await timed(async () => {
    await q('BEGIN');
    await copyBinary(client, `${SCHEMA}.cache (input_hash, model_version_id, embedding)`, cachePayload);
    await copyBinary(client, `${SCHEMA}.w2`, basePayload);
    await q('COMMIT');
  }));
  await freshIndexTable('w1', 'CREATE INDEX ON $T (input_hash)');
  once.push(await timed(async () => {
    await q('BEGIN');
    await copyBinary(client, `${SCHEMA}.w1`, basePayload);
    await q('COMMIT');
  }));
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
await q(`DROP SCHEMA ${SCHEMA} CASCADE`);
client.release();
await pool.end();

const f1 = (ms: number): string => (ms / 1000).toFixed(2);
console.log(`\n${N.toLocaleString('en-US')} rows × ${DIMS} dims; change set ${CHANGE.toLocaleString('en-US')} rows\n`);
console.log('| maintenance_work_mem | ef_construction | build s | build rows/s | recall@10 (ef_search 40) | insert change set s | insert rows/s | build beside wins above |');
console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
for (const b of builds) {
  console.log(`| ${b.mwm} | ${b.efc} | ${f1(b.buildMs)} | ${Math.round(b.buildRowsPerSec)} | ${b.recall.toFixed(3)} | ${f1(b.insertMs)} | ${Math.round(b.insertRowsPerSec)} | ${(b.swapShare * 100).toFixed(0)}% of the index |`);
}
console.log(`\n| first-load write of ${N.toLocaleString('en-US')} vectors (median of 3) | s |\n|---|---:|`);
console.log(`| today: COPY into the cache + COPY into the index table | ${f1(median(twice))} |`);
console.log(`| write once: COPY into an index table with a btree on input_hash | ${f1(median(once))} |`);
console.log(`| ratio | ${(median(twice) / median(once)).toFixed(2)}× |`);
console.log(`\n${uptime}`);
mkdirSync(join(ROOT, 'bench/.results'), { recursive: true });
writeFileSync(join(ROOT, `bench/.results/hnsw-${Date.now()}.json`), JSON.stringify({ n: N, dims: DIMS, change: CHANGE, builds, writeTwiceMs: twice, writeOnceMs: once, uptime }, null, 2));
