/**
 * Progress of one ingest run, in Redis. Jobs report when they settle through one Lua script
 * that counts each job once (a retried or replayed job changes nothing), so the CLI can show
 * progress and know when the run is done without asking BullMQ about every job.
 *
 * Keys (under the configured prefix): run:<id> (hash of counters and facts), run:<id>:settled,
 * run:<id>:ok, run:<id>:failed (job id sets), run:<id>:embedjobs (ids of embed jobs enqueued),
 * run:<id>:rejected (hash path → reason), run:<id>:cursor (hash ingest job id → {@link IngestCursor}).
 *
 * An ingest job's counters are not applied when it settles but page by page, with the position
 * it reached ({@link RunTracker.checkpoint}): so what a job stored counts even when it later
 * fails, and a retried attempt resumes at that position with those counters.
 */
import type { Redis } from 'ioredis';
import type { ReadPosition } from '../corpus/readers/types.ts';

export const RUN_TTL_SECONDS = 7 * 24 * 3600;

export interface RunCounters {
  documents: number;
  documentsSkipped: number;
  chunks: number;
  cacheHits: number;
  embedded: number;
  tokens: number;
  /** nano-dollars, to keep the counters integers */
  costNanoUsd: number;
  truncated: number;
  split: number;
}

export interface RunState extends RunCounters {
  id: string;
  index: string;
  tenant: string;
  startedAt: number;
  ingestJobs: number;
  /** The folders and files the run was asked to read (absolute); its ingest jobs read only under them. */
  roots: string[];
  ingestSettled: number;
  embedJobs: number;
  embedSettled: number;
  failedJobs: number;
  finalized: boolean;
  /** When the finalize job started (HNSW build) and ended, ms since the epoch; 0 if not yet. */
  finalizeStartedAt: number;
  finalizedAt: number;
  /** Display-only progress (see {@link RunTracker.live}). */
  live: { chunks: number; done: number; hits: number };
  rejected: { path: string; reason: string }[];
}

const SETTLE = `
-- KEYS: run hash, settled set, ok set, failed set; ARGV: jobId, kind (ingest|embed), ok (1|0), then field/increment pairs
local added = redis.call('SADD', KEYS[2], ARGV[1])
if added == 1 then redis.call('HINCRBY', KEYS[1], ARGV[2] .. 'Settled', 1) end
if ARGV[3] == '1' then
  if redis.call('SREM', KEYS[4], ARGV[1]) == 1 then redis.call('HINCRBY', KEYS[1], 'failedJobs', -1) end
  if redis.call('SADD', KEYS[3], ARGV[1]) == 1 then
    for i = 4, #ARGV, 2 do redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[i + 1]) end
  end
else
  if redis.call('SISMEMBER', KEYS[3], ARGV[1]) == 0 and redis.call('SADD', KEYS[4], ARGV[1]) == 1 then
    redis.call('HINCRBY', KEYS[1], 'failedJobs', 1)
  end
end
for i = 1, 4 do redis.call('EXPIRE', KEYS[i], ${RUN_TTL_SECONDS}) end
local h = redis.call('HMGET', KEYS[1], 'ingestJobs', 'ingestSettled', 'embedJobs', 'embedSettled', 'failedJobs')
local ij, is, ej, es = tonumber(h[1] or 0), tonumber(h[2] or 0), tonumber(h[3] or 0), tonumber(h[4] or 0)
if ij > 0 and is >= ij and es >= ej then return 1 end
return 0
`;

/**
 * How far an ingest job got: everything before `pos` is stored and counted in `totals`, and every
 * miss before it is in an embed job, except the misses of the pages from `redo` on (gathered
 * for a fuller embed job, not yet enqueued), which a resumed attempt re-reads without counting.
 */
export interface IngestCursor {
  pos: ReadPosition;
  redo?: ReadPosition;
  totals: Pick<RunCounters, 'documents' | 'documentsSkipped' | 'chunks' | 'cacheHits'>;
}

const CHECKPOINT = `
-- KEYS: run hash, cursor hash; ARGV: jobId, cursor offset, cursor json, then field/total pairs.
-- A cursor behind the recorded one (a replay, a zombie attempt) changes nothing; otherwise the
-- run's counters move by the difference between the new totals and the recorded ones.
local old = redis.call('HGET', KEYS[2], ARGV[1])
local prev = {}
if old then
  local o = cjson.decode(old)
  if tonumber(o.pos.offset) > tonumber(ARGV[2]) then return 0 end
  prev = o.totals or {}
end
for i = 4, #ARGV, 2 do
  local d = tonumber(ARGV[i + 1]) - tonumber(prev[ARGV[i]] or 0)
  if d ~= 0 then redis.call('HINCRBY', KEYS[1], ARGV[i], string.format('%d', d)) end
end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
redis.call('EXPIRE', KEYS[2], ${RUN_TTL_SECONDS})
return 1
`;

const ADD_EMBED_JOBS = `
-- KEYS: run hash, embedjobs set; ARGV: job ids
local n = 0
for i = 1, #ARGV do n = n + redis.call('SADD', KEYS[2], ARGV[i]) end
if n > 0 then redis.call('HINCRBY', KEYS[1], 'embedJobs', n) end
redis.call('EXPIRE', KEYS[2], ${RUN_TTL_SECONDS})
return n
`;

const SEAL = `
-- KEYS: run hash; ARGV: the run's number of ingest jobs. Returns 1 when the run is settled now.
redis.call('HSET', KEYS[1], 'ingestJobs', ARGV[1])
local h = redis.call('HMGET', KEYS[1], 'ingestJobs', 'ingestSettled', 'embedJobs', 'embedSettled')
local ij, is, ej, es = tonumber(h[1] or 0), tonumber(h[2] or 0), tonumber(h[3] or 0), tonumber(h[4] or 0)
if ij > 0 and is >= ij and es >= ej then return 1 end
return 0
`;

/** See {@link RunTracker.watchFinalized}. */
export interface FinalizedWatch {
  /** Sleeps `ms`, or less: until the run is announced finalized (at once if it was already). */
  nap(ms: number): Promise<void>;
  close(): void;
}

export class RunTracker {
  readonly redis: Redis;
  readonly prefix: string;
  constructor(redis: Redis, prefix: string) {
    this.redis = redis;
    this.prefix = prefix;
  }

  private key(id: string, suffix = ''): string {
    return `${this.prefix}:run:${id}${suffix}`;
  }

  /** Starts a run's record afresh (a stale record under the same id, e.g. from a recreated database, is dropped). */
  async create(id: string, facts: { index: string; tenant: string; ingestJobs: number; roots?: string[] }): Promise<void> {
    await this.redis
      .multi()
      .del(...['', ':settled', ':ok', ':failed', ':embedjobs', ':rejected', ':cursor'].map((s) => this.key(id, s)))
      .hset(this.key(id), { index: facts.index, tenant: facts.tenant, startedAt: Date.now(), ingestJobs: facts.ingestJobs, roots: JSON.stringify(facts.roots ?? []) })
      .expire(this.key(id), RUN_TTL_SECONDS)
      .exec();
  }

  /**
   * Sets how many ingest jobs a run has, for a run created with 0 because its jobs were enqueued
   * while its input was still being read (records streamed to the API): until then no settle can
   * finish it. Returns true when every job had settled already, so the caller finishes the run
   * (jobs/settle.ts `sealRun`); a job settling after this finishes it as usual.
   */
  async seal(id: string, ingestJobs: number): Promise<boolean> {
    return (await this.redis.eval(SEAL, 1, this.key(id), String(ingestJobs))) === 1;
  }

  /** Records embed jobs an ingest job enqueued (idempotent per job id). */
  async addEmbedJobs(id: string, jobIds: string[]): Promise<void> {
    if (jobIds.length) await this.redis.eval(ADD_EMBED_JOBS, 2, this.key(id), this.key(id, ':embedjobs'), ...jobIds);
  }

  /** Marks a job settled; counters apply once per job. Returns true when the whole run is settled. */
  async settle(id: string, jobId: string, kind: 'ingest' | 'embed', ok: boolean, counters: Partial<RunCounters> = {}): Promise<boolean> {
    const pairs = Object.entries(counters).flatMap(([k, v]) => [k, String(Math.round(v ?? 0))]);
    const done = await this.redis.eval(
      SETTLE,
      4,
      this.key(id),
      this.key(id, ':settled'),
      this.key(id, ':ok'),
      this.key(id, ':failed'),
      jobId,
      kind,
      ok ? '1' : '0',
      ...pairs,
    );
    return done === 1;
  }

  /**
   * Records how far an ingest job got and applies its counters up to there to the run, once:
   * returns false when a cursor further on was recorded already.
   */
  async checkpoint(id: string, jobId: string, cursor: IngestCursor): Promise<boolean> {
    const pairs = Object.entries(cursor.totals).flatMap(([k, v]) => [k, String(Math.round(v))]);
    const r = await this.redis.eval(CHECKPOINT, 2, this.key(id), this.key(id, ':cursor'), jobId, cursor.pos.offset, JSON.stringify(cursor), ...pairs);
    return r === 1;
  }

  /** The cursor an ingest job recorded last, if any. */
  async cursor(id: string, jobId: string): Promise<IngestCursor | undefined> {
    const raw = await this.redis.hget(this.key(id, ':cursor'), jobId);
    return raw ? (JSON.parse(raw) as IngestCursor) : undefined;
  }

  /**
   * Live progress for the progress bar, page by page. Unlike {@link settle} these are plain
   * increments (a retried page counts again), so they only ever feed the display.
   */
  async live(id: string, delta: { chunks?: number; done?: number; hits?: number }): Promise<void> {
    const m = this.redis.multi();
    for (const [k, v] of Object.entries(delta)) if (v) m.hincrby(this.key(id), `live_${k}`, v);
    await m.exec();
  }

  async reject(id: string, items: { path: string; reason: string }[]): Promise<void> {
    if (items.length === 0) return;
    await this.redis.multi().hset(this.key(id, ':rejected'), Object.fromEntries(items.map((i) => [i.path, i.reason]))).expire(this.key(id, ':rejected'), RUN_TTL_SECONDS).exec();
  }

  /** Lets a settled run be finalized again (after its failed jobs are retried). */
  async reopen(id: string): Promise<void> {
    await this.redis.hset(this.key(id), 'finalized', 0);
  }

  async markFinalizing(id: string): Promise<void> {
    await this.redis.hset(this.key(id), 'finalizeStartedAt', Date.now());
  }

  /** Marks the run finalized and announces it, so a waiter ({@link watchFinalized}) wakes at once. */
  async markFinalized(id: string): Promise<void> {
    await this.redis
      .multi()
      .hset(this.key(id), { finalized: 1, finalizedAt: Date.now() })
      .publish(this.key(id, ':finalized'), '1')
      .exec();
  }

  /**
   * Listens for the run's finalized announcement on a connection of its own (a subscribed Redis
   * connection takes no other commands). Resolves once subscribed, so a caller that reads the
   * run's state afterwards misses nothing: finalized before, the state says so; after, `nap` ends.
   * Without Redis the watch is inert and `nap` is a plain sleep; the caller's poll still decides.
   */
  async watchFinalized(id: string): Promise<FinalizedWatch> {
    const sub = this.redis.duplicate({ lazyConnect: true });
    sub.on('error', () => undefined);
    let announced = false;
    let wake: (() => void) | undefined;
    sub.on('message', () => {
      announced = true;
      wake?.();
    });
    await sub.connect().then(() => sub.subscribe(this.key(id, ':finalized'))).catch(() => undefined);
    return {
      // An announcement ends one nap: were the run reopened afterwards, the next naps sleep again
      // instead of returning at once and turning the caller's poll into a busy loop.
      nap: (ms) =>
        announced
          ? Promise.resolve(void (announced = false))
          : new Promise<void>((resolve) => {
              const timer = setTimeout(done, ms);
              function done() {
                clearTimeout(timer);
                wake = undefined;
                resolve();
              }
              wake = done;
            }),
      close: () => sub.disconnect(),
    };
  }

  async get(id: string): Promise<RunState | null> {
    const [h, rejected] = await Promise.all([this.redis.hgetall(this.key(id)), this.redis.hgetall(this.key(id, ':rejected'))]);
    if (!h.index) return null;
    const n = (k: string) => Number(h[k] ?? 0);
    return {
      id,
      index: h.index,
      tenant: h.tenant ?? '',
      startedAt: n('startedAt'),
      ingestJobs: n('ingestJobs'),
      roots: parseRoots(h.roots),
      ingestSettled: n('ingestSettled'),
      embedJobs: n('embedJobs'),
      embedSettled: n('embedSettled'),
      failedJobs: n('failedJobs'),
      finalized: h.finalized === '1',
      finalizeStartedAt: n('finalizeStartedAt'),
      live: { chunks: n('live_chunks'), done: n('live_done'), hits: n('live_hits') },
      finalizedAt: n('finalizedAt'),
      documents: n('documents'),
      documentsSkipped: n('documentsSkipped'),
      chunks: n('chunks'),
      cacheHits: n('cacheHits'),
      embedded: n('embedded'),
      tokens: n('tokens'),
      costNanoUsd: n('costNanoUsd'),
      truncated: n('truncated'),
      split: n('split'),
      rejected: Object.entries(rejected).map(([path, reason]) => ({ path, reason })),
    };
  }

  static settled(s: RunState): boolean {
    return s.ingestJobs > 0 && s.ingestSettled >= s.ingestJobs && s.embedSettled >= s.embedJobs;
  }
}

function parseRoots(v: string | undefined): string[] {
  try {
    const roots: unknown = JSON.parse(v ?? '[]');
    return Array.isArray(roots) ? roots.filter((r): r is string => typeof r === 'string') : [];
  } catch {
    return [];
  }
}
