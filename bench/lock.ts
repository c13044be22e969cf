/**
 * `npm run bench:lock`: what the job lock (`worker.lockMs`) trades. A short lock returns a killed
 * worker's jobs to the queue sooner; a lock shorter than the longest event-loop stall of a busy
 * worker takes jobs from a live worker (they run twice, and are paid twice).
 *
 * For each lock: two `embedq worker` processes on one ingest whose provider (the simulator) takes
 * 4 s per response; SIGKILL the one holding jobs and time until every job it held is back for
 * the other (already running) to take: found stalled by its check and moved back to wait. Then,
 * once, the longest event-loop stall of an in-process worker ingesting the same corpus with the
 * local provider (reading, chunking, hashing, COPY: the CPU-heavy path).
 *
 *   npm run bench:lock -- [--locks 30000,10000,5000] [--n 400] [--reps 1]
 *
 * Prints a Markdown table (paste into BENCHMARKS.md) and writes bench/.results/lock-<ts>.json.
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { writeCorpus } from './corpus.ts';
import { startReady } from './spawn-ready.ts';

const ROOT = join(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin/embedq');
const { values: a } = parseArgs({ options: { locks: { type: 'string', default: '30000,10000,5000' }, n: { type: 'string', default: '400' }, reps: { type: 'string', default: '1' } } });
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:56379';
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://embedq@127.0.0.1:55432/embedq';


const stop = (c: ChildProcess, sig: NodeJS.Signals = 'SIGKILL') => new Promise((r) => (c.exitCode !== null || c.signalCode !== null ? r(null) : (c.once('exit', r), c.kill(sig))));

/** ms from SIGKILL of the worker holding jobs until all of them are back in the queue for another worker. */
async function recovery(lockMs: number, file: string, simUrl: string): Promise<number> {
  const run = `bench_lock_${lockMs}_${Date.now()}`;
  const env = {
    ...process.env,
    REDIS_URL,
    DATABASE_URL,
    EMBEDQ_DB_SCHEMA: run,
    EMBEDQ_REDIS_PREFIX: run,
    OPENAI_BASE_URL: simUrl,
    OPENAI_API_KEY: 'sk-bench',
    EMBEDQ_LOG_LEVEL: 'warn',
    EMBEDQ_EMBED_BATCH: '8',
    EMBEDQ_WORKER_LOCK_MS: String(lockMs),
  };
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const embed = new Queue('embed', { connection: redis, prefix: run });
  const kids: ChildProcess[] = [];
  try {
    execFileSync(process.execPath, [BIN, 'db', 'migrate'], { env, stdio: 'ignore' });
    execFileSync(process.execPath, [BIN, 'ingest', file, '--index', 'bench', '--model', 'openai/text-embedding-3-small', '--dims', '64', '--no-wait', '--json'], { env, stdio: 'ignore' });
    const victim = (await startReady([BIN, 'worker', '--concurrency', '4'], env, /embedq worker: ready/)).child;
    kids.push(victim);
    const name = `embedq-worker-${victim.pid}`;
    // The worker that holds a job, as BullMQ records it (field `pb` of the job's hash).
    const holder = (id: string) => redis.hget(`${run}:embed:${id}`, 'pb');
    const heldBy = async (who: string) => (await Promise.all((await embed.getActive()).map(async (j) => ((await holder(j.id!)) === who ? j.id! : undefined)))).filter((x) => x !== undefined);
    let held: string[] = [];
    while (held.length < 4) {
      held = await heldBy(name);
      await sleep(100);
    }
    // The survivor runs before the kill, so its start-up is not counted; the victim dies at a random phase of its lock renewal.
    const survivor = (await startReady([BIN, 'worker', '--concurrency', '4'], env, /embedq worker: ready/)).child;
    kids.push(survivor);
    await sleep(Math.random() * lockMs);
    const killedAt = Date.now();
    await stop(victim);
    // What it held when it died: active, and last taken by it.
    held = await heldBy(name);
    console.error(`bench: lock ${lockMs} ms: killed the victim, holding ${held.length} jobs`);
    // Back in the queue (the survivor's stalled-job check moved them to wait) or already taken again.
    const by = `embedq-worker-${survivor.pid}`;
    for (;;) {
      const back = await Promise.all(held.map(async (id) => (await embed.getJobState(id)) !== 'active' || (await holder(id)) === by));
      if (back.every(Boolean)) return Date.now() - killedAt;
      await sleep(100);
    }
  } finally {
    for (const k of kids) await stop(k);
    await embed.close();
    const keys = await redis.keys(`${run}:*`);
    if (keys.length) await redis.unlink(...keys);
    redis.disconnect();
    execFileSync('psql', [DATABASE_URL, '-qc', `DROP SCHEMA IF EXISTS ${run} CASCADE`], { stdio: 'ignore' });
  }
}

/** The longest event-loop stall (ms) of an in-process worker ingesting `file` with the local provider. */
async function longestStall(file: string): Promise<{ maxMs: number; p99Ms: number }> {
  const run = `bench_lock_loop_${Date.now()}`;
  Object.assign(process.env, { REDIS_URL, DATABASE_URL, EMBEDQ_DB_SCHEMA: run, EMBEDQ_REDIS_PREFIX: run, EMBEDQ_LOG_LEVEL: 'silent' });
  const { loadConfig } = await import('../src/config/load.ts');
  const { createContext } = await import('../src/context.ts');
  const { migrate } = await import('../src/store/migrate.ts');
  const { runIngest } = await import('../src/cli/commands/ingest.ts');
  const ctx = createContext(loadConfig({}));
  await migrate(ctx.db, run);
  const h = monitorEventLoopDelay({ resolution: 10 });
  h.enable();
  await runIngest(ctx, { paths: [file], index: 'loop', model: 'local/hash-v1', dims: 256 });
  h.disable();
  await ctx.db.query(`DROP SCHEMA IF EXISTS ${run} CASCADE`);
  const keys = await ctx.redis.keys(`${run}:*`);
  if (keys.length) await ctx.redis.unlink(...keys);
  await ctx.close();
  return { maxMs: Math.round(h.max / 1e6), p99Ms: Math.round(h.percentile(99) / 1e6) };
}

async function main(): Promise<void> {
  const locks = a.locks.split(',').map(Number);
  const dir = mkdtempSync(join(tmpdir(), 'embedq-bench-lock-'));
  const file = join(dir, 'corpus.jsonl');
  await writeCorpus(Number(a.n), file);
  // Every response takes 4 s: the victim always has jobs in flight when it is killed.
  const sim = await startReady([join(ROOT, 'test/support/simulator/index.ts'), '--port', '0', '--latency-ms', '4000'], process.env, /"url"/);
  const simUrl = (JSON.parse(sim.line) as { url: string }).url;
  const rows: { lockMs: number; recoveryMs: number[] }[] = [];
  try {
    for (const lockMs of locks) {
      const recoveryMs: number[] = [];
      for (let i = 0; i < Number(a.reps); i++) {
        recoveryMs.push(await recovery(lockMs, file, simUrl));
        console.error(`bench: lock ${lockMs} ms: recovered in ${recoveryMs.at(-1)} ms`);
      }
      rows.push({ lockMs, recoveryMs });
    }
  } finally {
    await stop(sim.child, 'SIGTERM');
  }
  const stall = await longestStall(file);
  const uptime = execFileSync('uptime', { encoding: 'utf8' }).trim();
  // BullMQ renews a worker's locks every lockMs/2 and (as workers/runtime.ts sets it) checks for stalled jobs every lockMs/2: per queue and worker process.
  console.log(`| lockMs | killed worker's jobs back in the queue after SIGKILL (each run) | lock upkeep per worker process (6 queues) |\n|---|---|---|`);
  for (const r of rows) console.log(`| ${r.lockMs} | ${r.recoveryMs.map((x) => `${(x / 1000).toFixed(1)} s`).join(', ')} | ${((6 * 4) / (r.lockMs / 1000)).toFixed(1)} Redis calls/s |`);
  console.log(`\nlongest event-loop stall of an in-process worker ingesting ${a.n} records (local provider): ${stall.maxMs} ms (p99 ${stall.p99Ms} ms)\n\n${uptime}`);
  mkdirSync(join(ROOT, 'bench/.results'), { recursive: true });
  writeFileSync(join(ROOT, `bench/.results/lock-${Date.now()}.json`), JSON.stringify({ n: Number(a.n), rows, stall, uptime }, null, 2));
}

await main();
