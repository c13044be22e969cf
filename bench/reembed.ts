/**
 * `npm run bench:reembed`: first-time ingest of N synthetic chunks, then `embedq reembed` of the
 * same index to another model at the same size, both against the provider simulator at zero
 * latency, both including their HNSW build; and the time the cutover transaction holds the alias.
 *
 *   npm run bench:reembed -- --n 100000
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { cutover } from '../src/reembed/controller.ts';
import { currentReembed } from '../src/reembed/store.ts';
import { createPool } from '../src/store/db.ts';
import { writeCorpus } from './corpus.ts';

const ROOT = join(import.meta.dirname, '..');
const { values } = parseArgs({ options: { n: { type: 'string', default: '20000' }, dims: { type: 'string', default: '1536' } } });
const N = Number(values.n);
const DIMS = Number(values.dims);
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://embedq@127.0.0.1:55432/embedq';

async function main(): Promise<void> {
  const sim = spawn(process.execPath, [join(ROOT, 'test/support/simulator/index.ts'), '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const { url } = JSON.parse(await new Promise<string>((r) => sim.stdout.once('data', (d: Buffer) => r(d.toString())))) as { url: string };
  const schema = `bench_reembed_${N}`;
  const env = { ...process.env, EMBEDQ_DB_SCHEMA: schema, EMBEDQ_REDIS_PREFIX: schema, OPENAI_BASE_URL: url, OPENAI_API_KEY: 'sk-bench', EMBEDQ_LOG_LEVEL: 'silent' };
  const cli = (args: string[]) => JSON.parse(execFileSync(process.execPath, [join(ROOT, 'bin/embedq'), ...args, '--json'], { env, maxBuffer: 64 << 20 }).toString());
  const db = createPool({ url: DATABASE_URL, schema, max: 2 });
  try {
    await db.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    execFileSync('bash', ['-c', `redis-cli -u "\${REDIS_URL:-redis://127.0.0.1:56379}" --scan --pattern '${schema}:*' | xargs -r redis-cli -u "\${REDIS_URL:-redis://127.0.0.1:56379}" unlink > /dev/null`]);
    const dir = join(tmpdir(), 'embedq-bench');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `corpus-${N}.jsonl`);
    await writeCorpus(N, file);
    cli(['db', 'migrate']);
    let t = performance.now();
    const ingest = cli(['ingest', file, '--index', 'rb', '--model', 'openai/text-embedding-3-small', '--dims', String(DIMS)]);
    const ingestMs = performance.now() - t;
    t = performance.now();
    // A throughput benchmark: the synthetic corpus has no meaningful queries (its "first sentences"
    // are "Record 123."), so the quality gate is set to pass and measured elsewhere (tests).
    const re = cli(['reembed', 'start', '--index', 'rb', '--to', 'openai/text-embedding-3-large', '--dims', String(DIMS), '--no-cutover', '--quality-floor', '0.0001']);
    const reembedMs = performance.now() - t;
    const m = (await currentReembed(db, 'rb'))!;
    const { lockMs } = await cutover(db, m.id, 'bench', false);
    const r = {
      n: N,
      dims: DIMS,
      chunks: ingest.chunks,
      ingestMs,
      ingestChunksPerSec: (N * 1000) / ingestMs,
      reembedMs,
      reembedChunksPerSec: (N * 1000) / reembedMs,
      reembedState: re.migration.state,
      coverage: re.coverage.ratio,
      aliasSwapLockMs: lockMs,
    };
    console.error(JSON.stringify(r));
    mkdirSync(join(ROOT, 'bench/.results'), { recursive: true });
    writeFileSync(join(ROOT, `bench/.results/reembed-${Date.now()}.json`), JSON.stringify(r, null, 2));
    const fmt = (x: number) => Math.round(x).toLocaleString('en-US');
    console.log('| N | dims | first ingest chunks/s (HNSW incl.) | reembed backfill chunks/s (HNSW + gate incl.) | reembed / ingest | alias swap lock ms |');
    console.log('|---|---|---|---|---|---|');
    console.log(`| ${fmt(N)} | ${DIMS} | ${fmt(r.ingestChunksPerSec)} | ${fmt(r.reembedChunksPerSec)} | ${(r.reembedChunksPerSec / r.ingestChunksPerSec).toFixed(2)}× | ${lockMs.toFixed(2)} |`);
    await db.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    sim.kill();
    await db.end();
  }
}

await main();
