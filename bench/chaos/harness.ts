/**
 * The chaos run: its own Redis and Postgres, N `embedq worker` processes and the provider
 * simulator with scheduled faults; one `embedq ingest` of a generated corpus while workers are
 * SIGKILLed (and restarted) and Redis and Postgres restarted, all at simulator request numbers;
 * then the end state is verified (verify.ts) and a second ingest must make no provider call.
 * Used by `npm run chaos` (run.ts) and the short version in `npm test` (test/chaos/).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { tokenizerFor } from '../../src/corpus/tokenizer.ts';
import { startSimulator, type Simulator } from '../../test/support/simulator/index.ts';
import type { FaultPlan } from '../../test/support/simulator/faults.ts';
import { writeCorpus } from '../corpus.ts';
import { children, killAll, postgresService, redisService, startChild, stopChild, type Service } from './services.ts';
import { pendingJobs, verify, type Verdict } from './verify.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'embedq');
const MODEL = 'text-embedding-3-small';
const INDEX = 'chaos';
const PREFIX = 'chaos';
const SCHEMA = 'embedq';

export interface ChaosOptions {
  /** Corpus records (one chunk each). */
  chunks: number;
  workers: number;
  /** EMBEDQ_EMBED_BATCH: inputs per embed job, so per provider request. */
  embedBatch: number;
  /** SIGKILL a worker (round robin, restarted at once) at every n-th simulator request; 0 = never. */
  killEvery: number;
  /** Restart Redis / Postgres when the simulator sees this request; 0 = never. */
  redisRestartAt: number;
  postgresRestartAt: number;
  /** How long a restarted service stays down. */
  downMs: number;
  faults: FaultPlan;
  dims: number;
  /** EMBEDQ_WORKER_LOCK_MS for the workers; undefined = the product's default. */
  lockMs?: number;
  /** Safety net for the whole run. */
  timeoutMs: number;
  log?: (line: string) => void;
}

export interface ChaosSummary extends Verdict {
  simInputs: number;
  cutInputs: number;
  /** Simulator inputs minus distinct chunks: inputs paid more than once. */
  repaid: number;
  kills: number;
  restarts: { redis: number; postgres: number };
  /** Workers that exited without being killed: "exit 1: <last line of its log>". */
  workerCrashes: string[];
  cli: { code: number | null; error?: string };
  rerunCalls: number;
  seconds: number;
  /** Every check that did not hold, in words; empty when the run passed. */
  failures: string[];
}

interface Worker {
  child: ChildProcess;
  log: string;
  killed: boolean;
}

/** What a crashed process said last: the error line of its last unhandled throw, else its last line. */
function lastWords(file: string): string {
  let lines: string[];
  try {
    lines = readFileSync(file, 'utf8').trim().split('\n').filter(Boolean);
  } catch {
    return '(no log)';
  }
  const thrown = lines.findLastIndex((l) => /Unhandled|throw /.test(l));
  const isError = (l: string) => /^\w*error\b/i.test(l);
  const error = lines.slice(thrown + 1).find(isError) ?? lines.findLast(isError);
  return (thrown >= 0 && error ? `${lines[thrown]!.trim()} ${error}` : (error ?? lines.at(-1) ?? '(no output)')).slice(0, 300);
}

/** The CLI's own message: its last `embedq:` line, else the last error line, else its last line. */
const cliMessage = (stderr: string) => {
  const lines = stderr.trim().split('\n').filter(Boolean);
  return (lines.findLast((l) => l.startsWith('embedq')) ?? lines.findLast((l) => /^\w*Error\b/.test(l)) ?? lines.at(-1) ?? '').slice(0, 300);
};

function runCli(args: string[], env: NodeJS.ProcessEnv, deadline: number, logFile?: string): Promise<{ code: number | null; stdout: string; stderr: string; timedOut: boolean }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d).slice(-20_000)));
    const t = setTimeout(() => ((timedOut = true), child.kill('SIGKILL')), Math.max(1000, deadline - Date.now()));
    child.once('exit', (code) => {
      clearTimeout(t);
      if (logFile) writeFileSync(logFile, `$ embedq ${args.join(' ')}\nexit ${code}\n--- stdout\n${stdout}\n--- stderr\n${stderr}\n`);
      children.delete(child);
      resolve({ code, stdout, stderr, timedOut });
    });
  });
}

export async function runChaos(o: ChaosOptions): Promise<ChaosSummary> {
  // Whatever ends this process (an exit, a test runner's SIGTERM), no child outlives it.
  const onSignal = (sig: NodeJS.Signals) => {
    killAll();
    process.exit(sig === 'SIGINT' ? 130 : 143);
  };
  process.once('exit', killAll);
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  const log = o.log ?? (() => {});
  const t0 = Date.now();
  const deadline = t0 + o.timeoutMs;
  const at = () => `${((Date.now() - t0) / 1000).toFixed(1)}s`;
  const dir = mkdtempSync(join(tmpdir(), 'embedq-chaos-'));
  const workers: Worker[] = [];
  const crashes: string[] = [];
  const restarts = { redis: 0, postgres: 0 };
  let kills = 0;
  let stopping = false;
  /** Faults only while the first ingest runs: the checks and the second ingest see a quiet system. */
  let faulting = true;
  const bounces: Promise<void>[] = [];
  let sim: Simulator | undefined;
  let redis: Service | undefined;
  let postgres: Service | undefined;
  try {
    log(`chaos: data, logs and corpus in ${dir}`);
    [redis, postgres] = await Promise.all([redisService(dir), postgresService(dir)]);
    const cl100k = tokenizerFor('cl100k_base');
    // Counted as embedq counts (cl100k_base), so the ledger's tokens and the simulator's agree.
    sim = await startSimulator({ countTokens: (t) => cl100k.count(t), schedule: o.faults });
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      REDIS_URL: redis.url,
      DATABASE_URL: postgres.url,
      EMBEDQ_DB_SCHEMA: SCHEMA,
      EMBEDQ_REDIS_PREFIX: PREFIX,
      OPENAI_BASE_URL: sim.url,
      OPENAI_API_KEY: 'sk-chaos-0123456789',
      EMBEDQ_LOG_LEVEL: 'warn',
      EMBEDQ_EMBED_BATCH: String(o.embedBatch),
      EMBEDQ_CHUNK_TOKENS: '512',
      ...(o.lockMs ? { EMBEDQ_WORKER_LOCK_MS: String(o.lockMs) } : {}),
    };
    const migrated = await runCli(['db', 'migrate'], env, deadline);
    if (migrated.code !== 0) throw new Error(`chaos: embedq db migrate exited ${migrated.code}: ${migrated.stderr.trim()}`);
    const corpus = join(dir, 'corpus.jsonl');
    await writeCorpus(o.chunks, corpus);

    const spawnWorker = (i: number) => {
      const w: Worker = { child: startChild(process.execPath, [BIN, 'worker'], { env, log: join(dir, `worker-${i}.log`) }), log: join(dir, `worker-${i}.log`), killed: false };
      workers[i] = w;
      w.child.once('exit', (code, signal) => {
        if (w.killed || stopping) return;
        const why = `worker ${i} exited by itself (${signal ?? `exit ${code}`}) at ${at()}: ${lastWords(w.log)}`;
        crashes.push(why);
        log(`chaos: ${why}; restarting it`);
        setTimeout(() => stopping || spawnWorker(i), 1000);
      });
    };
    for (let i = 0; i < o.workers; i++) spawnWorker(i);

    const bounce = async (name: 'redis' | 'postgres', svc: Service, n: number) => {
      log(`chaos: restarting ${name} at request ${n} (${at()})`);
      await svc.stop();
      await sleep(o.downMs);
      await svc.start();
      restarts[name]++;
      log(`chaos: ${name} is back (${at()})`);
    };
    sim.faults!.onRequest((n) => {
      if (stopping || !faulting) return;
      if (o.killEvery > 0 && n % o.killEvery === 0) {
        const i = (n / o.killEvery) % o.workers;
        const w = workers[i];
        if (w && w.child.exitCode === null && w.child.signalCode === null) {
          w.killed = true;
          w.child.kill('SIGKILL');
          kills++;
          log(`chaos: SIGKILL worker ${i} at request ${n} (${at()})`);
          w.child.once('exit', () => stopping || spawnWorker(i));
        }
      }
      if (n === o.redisRestartAt) bounces.push(bounce('redis', redis!, n).catch((e: unknown) => log(`chaos: redis restart failed: ${String(e)}`)));
      if (n === o.postgresRestartAt) bounces.push(bounce('postgres', postgres!, n).catch((e: unknown) => log(`chaos: postgres restart failed: ${String(e)}`)));
    });

    const ingestArgs = ['ingest', corpus, '--index', INDEX, '--model', `openai/${MODEL}`, '--dims', String(o.dims), '--no-local-worker', '--json'];
    log(`chaos: ingesting ${o.chunks} records with ${o.workers} workers (${at()})`);
    const first = await runCli(ingestArgs, env, deadline, join(dir, 'ingest-1.log'));
    const cliError = first.timedOut ? 'timed out' : first.code !== 0 ? cliMessage(first.stderr) : undefined;
    log(`chaos: ingest exited ${first.code}${cliError ? `: ${cliError}` : ''} (${at()})`);
    // Whatever the CLI did, the workers go on: wait until no job is left before judging.
    let idle = 0;
    while (idle < 2 && Date.now() < deadline) {
      const p = await pendingJobs(redis.url, PREFIX).catch(() => ({ pending: 1, failed: 0 }));
      idle = p.pending === 0 ? idle + 1 : 0;
      if (idle < 2) await sleep(1000);
    }
    faulting = false;
    await Promise.all(bounces);
    const verdict = await verify({ databaseUrl: postgres.url, schema: SCHEMA, redisUrl: redis.url, prefix: PREFIX, index: INDEX, model: MODEL, nativeDims: 1536, expectedDocuments: o.chunks });
    const simInputs = sim.stats().inputs;
    const cutInputs = sim.faults!.stats().cutInputs;
    const before = sim.stats().requests;
    const second = await runCli(ingestArgs, env, Date.now() + 120_000, join(dir, 'ingest-2.log'));
    const rerunCalls = sim.stats().requests - before;
    const s: ChaosSummary = {
      ...verdict,
      simInputs,
      cutInputs,
      repaid: simInputs - verdict.chunks,
      kills,
      restarts,
      workerCrashes: crashes,
      cli: { code: first.code, ...(cliError ? { error: cliError } : {}) },
      rerunCalls,
      seconds: Math.round((Date.now() - t0) / 1000),
      failures: [],
    };
    s.failures = judge(s, o, second.code);
    return s;
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    stopping = true;
    await Promise.all(workers.map((w) => w && stopChild(w.child, 'SIGTERM', 10_000)));
    await Promise.all([redis?.stop(), postgres?.stop()].map((p) => p?.catch(() => {})));
    await sim?.close();
    killAll();
    rmSync(join(dir, 'pg'), { recursive: true, force: true });
    rmSync(join(dir, 'redis'), { recursive: true, force: true });
    rmSync(join(dir, 'corpus.jsonl'), { force: true });
  }
}

/** The invariants, each failure in words. */
function judge(s: ChaosSummary, o: ChaosOptions, rerunCode: number | null): string[] {
  const f: string[] = [];
  if (s.missing > 0) f.push(`${s.missing} chunks or documents missing`);
  if (s.duplicates > 0) f.push(`${s.duplicates} duplicate vectors or documents`);
  if (s.wrong > 0) f.push(`${s.wrong} vectors differ from the simulator's`);
  if (s.chunks !== o.chunks) f.push(`${s.chunks} chunks stored for ${o.chunks} records`);
  if (s.failedJobs > 0) f.push(`${s.failedJobs} failed jobs in BullMQ: ${s.failedReasons.join(' / ')}`);
  if (s.pendingJobs > 0) f.push(`${s.pendingJobs} jobs still pending at the end`);
  if (s.cli.code !== 0) f.push(`embedq ingest exited ${s.cli.code}: ${s.cli.error ?? ''}`);
  if (s.workerCrashes.length) f.push(`${s.workerCrashes.length} worker crashes: ${s.workerCrashes.join(' / ')}`);
  if (s.unsettled > 0) f.push(`${s.unsettled} ledger attempts never settled`);
  const gap = s.simInputs - s.ledgerInputs;
  if (gap < 0 || gap > s.unknownInputs) f.push(`ledger has ${s.ledgerInputs} inputs, simulator embedded ${s.simInputs}; only ${s.unknownInputs} are in unknown attempts`);
  if (s.rerunCalls > 0 || rerunCode !== 0) f.push(`second ingest made ${s.rerunCalls} provider calls (exit ${rerunCode})`);
  if (o.redisRestartAt > 0 && s.restarts.redis === 0) f.push('Redis was never restarted: the run ended before its request number');
  if (o.postgresRestartAt > 0 && s.restarts.postgres === 0) f.push('Postgres was never restarted: the run ended before its request number');
  return f;
}

/** The one summary line. */
export function formatSummary(s: ChaosSummary): string {
  return [
    `chaos: ${s.failures.length ? 'FAIL' : 'PASS'}`,
    `chunks=${s.chunks} vectors=${s.vectors} duplicates=${s.duplicates} wrong=${s.wrong} missing=${s.missing} failed_jobs=${s.failedJobs}`,
    `sim_inputs=${s.simInputs} ledger_inputs=${s.ledgerInputs} unknown_inputs=${s.unknownInputs} swept=${s.swept} unsettled=${s.unsettled} repaid=${s.repaid} cut_inputs=${s.cutInputs}`,
    `kills=${s.kills} restarts=redis:${s.restarts.redis},postgres:${s.restarts.postgres} worker_crashes=${s.workerCrashes.length} cli_exit=${s.cli.code} rerun_calls=${s.rerunCalls} seconds=${s.seconds}`,
  ].join(' ');
}
