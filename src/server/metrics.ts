/**
 * Prometheus metrics for `GET /metrics`, collected at scrape time into a registry of the app's
 * own (never prom-client's global one, so two apps in one process never share series).
 *
 * Queue depths come from BullMQ; everything about providers, the cache and money comes from the
 * ledger, which is the source of truth shared by every worker. Ledger-derived counters are totals
 * over the whole ledger recomputed at each scrape (one aggregate query per family, never a query
 * per row): they survive a restart of `embedq serve`, agree across replicas, and need no
 * in-process state that a missed or doubled scrape could skew. The ledger holds one row per
 * provider request or per job's cache hits (not per chunk), so these aggregates stay cheap.
 *
 * A failing Redis or Postgres never fails the scrape: its families are left out and
 * `embedq_up{service="redis"|"postgres"}` reads 0.
 */
import type { JobState } from 'bullmq';
import { Counter, Gauge, Registry, collectDefaultMetrics, type Metric } from 'prom-client';
import type { Context } from '../context.ts';
import { ServiceUnavailableError, coerceError } from '../errors.ts';
import { QUEUES } from '../queue/names.ts';
import type { Queues } from '../queue/producer.ts';
import { coverage } from '../reembed/controller.ts';
import { openReembeds } from '../reembed/store.ts';
import { BUDGET_LIMITS, budgetUsage } from '../store/budgets.ts';
import { describePgError } from '../store/db.ts';
import { batchStatusCounts, cacheHits, callTotals, deploymentTotals, latencyBuckets, onlineTotals, spendTotals, type LatencyBuckets } from '../store/ledger-read.ts';
import { withTimeout } from './health.ts';

/** BullMQ job states reported per queue. */
export const QUEUE_STATES = ['waiting', 'prioritized', 'waiting-children', 'active', 'delayed', 'completed', 'failed'] as const satisfies readonly JobState[];

/** How long a reembed's counted coverage is reused by later scrapes (counting scans both tables). */
export const COVERAGE_REUSE_MS = 60_000;

/** Latency bucket bounds in milliseconds (exposed in seconds): from a local embedding to a large request near a provider's timeout. */
export const LATENCY_BOUNDS_MS = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000, 60_000, 120_000] as const;

export interface MetricsDeps {
  ctx: Pick<Context, 'config' | 'db' | 'logger'>;
  queues: Queues;
  /** Most time one collection may take before its service counts as down. @default 3000 */
  timeoutMs?: number;
  /** The gateway's requests being served by this process now. */
  inFlight?: () => number;
}

interface Named {
  name: string;
  metric: Metric;
}
const named = (name: string, metric: Metric): Named => ({ name, metric });

export interface Metrics {
  readonly registry: Registry;
  readonly contentType: string;
  /** Collects every family now and returns the exposition text. Concurrent calls share one collection. */
  scrape(): Promise<string>;
}

export function createMetrics(deps: MetricsDeps): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const g = <L extends string>(name: string, help: string, labelNames: readonly L[]) => new Gauge<L>({ name, help, labelNames, registers });
  const c = <L extends string>(name: string, help: string, labelNames: readonly L[]) => new Counter<L>({ name, help, labelNames, registers });

  const up = g('embedq_up', 'Whether the service answered during this scrape (1) or not (0).', ['service']);
  const queueJobs = g('embedq_queue_jobs', 'Jobs per BullMQ queue and state; completed and failed are the jobs still retained (removeOnComplete/removeOnFail trim them).', ['queue', 'state']);
  const requests = c('embedq_provider_requests_total', 'Provider requests recorded in the ledger, by outcome (ok, error, retry; unknown: no answer, possibly billed; sent: in flight).', ['provider', 'model', 'mode', 'status']);
  const tokens = c('embedq_provider_tokens_total', 'Input tokens billed by providers (successful requests).', ['provider', 'model', 'mode']);
  const errors = c('embedq_provider_errors_total', 'Failed provider requests (final errors and retried attempts).', ['provider', 'model']);
  const limited = c('embedq_provider_rate_limited_total', 'Provider requests answered with HTTP 429.', ['provider', 'model']);
  const latency = ledgerHistogram(
    'embedq_provider_latency_seconds',
    'Latency of provider requests with a measured latency (synchronous calls), from the ledger.',
    LATENCY_BOUNDS_MS,
  );
  registry.registerMetric(latency as unknown as Metric);
  const hits = c('embedq_cache_hits_total', 'Chunks answered from the embedding cache instead of a provider.', []);
  const embedded = c('embedq_chunks_embedded_total', 'Chunks embedded by a provider (sync and batch).', []);
  const hitRatio = g('embedq_cache_hit_ratio', 'Cache hits / (cache hits + chunks embedded), over the whole ledger; 0 before any work.', []);
  const batches = g('embedq_provider_batches', 'Provider batches by status.', ['provider', 'status']);
  const byDeployment = c('embedq_deployment_requests_total', 'Provider attempts by the deployment they went to and their outcome (ok, retry, error, unknown, sent).', ['model', 'deployment', 'status']);
  const failovers = c('embedq_failovers_total', 'Attempts sent to another deployment after one failed, by the deployment that took them.', ['model', 'deployment']);
  const online = c('embedq_online_requests_total', 'Gateway /v1/embeddings requests by outcome (served, refused, failed) and HTTP status, from the ledger.', ['model', 'status', 'code']);
  const onlineInputs = c('embedq_online_inputs_total', 'Inputs of served gateway requests.', ['model']);
  const onlineHits = c('embedq_online_cache_hits_total', 'Inputs of served gateway requests answered from the cache.', ['model']);
  const onlineHitRatio = g('embedq_online_cache_hit_ratio', 'Cache hits / inputs of served gateway requests, over the whole ledger; 0 before any.', []);
  const onlineLatency = ledgerHistogram('embedq_online_latency_seconds', 'Latency of gateway requests, end to end (key check to the last byte of the answer built), from the ledger.', LATENCY_BOUNDS_MS);
  registry.registerMetric(onlineLatency as unknown as Metric);
  const inFlight = g('embedq_online_requests_in_flight', 'Gateway requests this serve process is answering now.', []);
  const batchesOpen = g('embedq_provider_batches_open', 'Provider batches not read back yet, by provider and status.', ['provider', 'status']);
  const batchAge = g('embedq_provider_batch_oldest_open_seconds', 'Age of the oldest provider batch not read back yet, by provider and status: seconds since it was submitted (or created, before submission).', ['provider', 'status']);
  const reembedCoverage = g('embedq_reembed_coverage', 'Target rows / source rows of each open reembed (1 when both are empty).', ['index', 'source_model', 'target_model', 'state']);
  const reembedStateSeconds = g('embedq_reembed_state_seconds', 'Seconds each open reembed has been in its current state.', ['index', 'state']);
  const budgetUsed = g('embedq_tenant_budget_used_ratio', 'Share of each tenant budget limit used in its current UTC period (day or month); holds of online requests in flight count as spent.', ['tenant', 'period', 'unit']);
  const spend = c('embedq_spend_usd_total', 'Money spent on providers in USD, by tenant and model version.', ['tenant', 'model']);

  const timeoutMs = deps.timeoutMs ?? 3000;
  const db = deps.ctx.db;

  /**
   * Runs one collection. Any failure leaves its families out and is logged; only a service that
   * did not answer (connection refused, timeout) counts as down, not a query error such as a
   * table missing before `embedq db migrate` (/readyz reports that).
   */
  const attempt = async (service: 'redis' | 'postgres', family: string, fn: () => Promise<void>): Promise<{ ok: boolean; up: boolean }> => {
    try {
      await withTimeout(fn(), timeoutMs, `${service} (${family})`);
      return { ok: true, up: true };
    } catch (e) {
      const err = service === 'postgres' ? describePgError(e, deps.ctx.config.databaseUrl) : coerceError(e);
      deps.ctx.logger.warn({ service, family, err: err.message }, 'metrics: collection failed');
      const answered = service === 'postgres' && !(err instanceof ServiceUnavailableError) && !/timed out/.test(err.message);
      return { ok: false, up: answered };
    }
  };

  const collectQueues = async () => {
    const names = Object.values(QUEUES);
    const counts = await Promise.all(names.map((n) => deps.queues[n].getJobCounts(...QUEUE_STATES)));
    queueJobs.reset();
    names.forEach((queue, i) => {
      for (const state of QUEUE_STATES) queueJobs.set({ queue, state }, counts[i]![state] ?? 0);
    });
  };

  const collectCalls = async () => {
    const rows = await callTotals(db);
    for (const m of [requests, tokens, errors, limited, hits, embedded]) m.reset();
    for (const r of rows) {
      if (r.status === 'cache_hit') continue;
      const pm = { provider: r.provider, model: r.model };
      requests.inc({ ...pm, mode: r.mode, status: r.status }, r.calls);
      if (r.status === 'ok') tokens.inc({ ...pm, mode: r.mode }, r.tokens);
      else if (r.status !== 'sent') errors.inc(pm, r.calls); // sent: in flight, not failed (yet)
      if (r.rateLimited) limited.inc(pm, r.rateLimited);
    }
    const cache = cacheHits(rows);
    hits.inc(cache.hits);
    embedded.inc(cache.embedded);
    hitRatio.set(cache.ratio);
  };

  const collectDeployments = async () => {
    const rows = await deploymentTotals(db);
    byDeployment.reset();
    failovers.reset();
    for (const r of rows) {
      byDeployment.inc({ model: r.model, deployment: r.deployment, status: r.status }, r.calls);
      if (r.failovers) failovers.inc({ model: r.model, deployment: r.deployment }, r.failovers);
    }
  };

  const collectLatency = async () => latency.replace(await latencyBuckets(db, LATENCY_BOUNDS_MS));

  const collectOnline = async () => {
    const [rows, buckets] = await Promise.all([onlineTotals(db), latencyBuckets(db, LATENCY_BOUNDS_MS, 'online')]);
    for (const m of [online, onlineInputs, onlineHits]) m.reset();
    let served = 0;
    let hit = 0;
    for (const r of rows) {
      online.inc({ model: r.model, status: r.status, code: String(r.httpStatus) }, r.requests);
      if (r.status !== 'served') continue;
      onlineInputs.inc({ model: r.model }, r.inputs);
      onlineHits.inc({ model: r.model }, r.hits);
      served += r.inputs;
      hit += r.hits;
    }
    onlineHitRatio.set(served ? hit / served : 0);
    onlineLatency.replace(buckets);
  };

  const collectBatches = async () => {
    const rows = await batchStatusCounts(db);
    batches.reset();
    batchesOpen.reset();
    batchAge.reset();
    for (const r of rows) {
      batches.set({ provider: r.provider, status: r.status }, r.n);
      if (r.open > 0) batchesOpen.set({ provider: r.provider, status: r.status }, r.open);
      if (r.oldestOpenSeconds !== null) batchAge.set({ provider: r.provider, status: r.status }, r.oldestOpenSeconds);
    }
  };

  // Coverage counts both tables' rows (exactly, as `embedq reembed status` does): a scan of each.
  // Scrapes come every few seconds, so a count is reused for COVERAGE_REUSE_MS.
  const counted = new Map<string, { at: number; ratio: number }>();
  const coverageOf = async (m: Awaited<ReturnType<typeof openReembeds>>[number], now: number): Promise<number> => {
    const key = `${m.id}:${m.state}`;
    const hit = counted.get(key);
    if (hit && now - hit.at < COVERAGE_REUSE_MS) return hit.ratio;
    const { ratio } = await coverage(db, m);
    counted.set(key, { at: now, ratio });
    return ratio;
  };

  const collectReembeds = async () => {
    const open = await openReembeds(db);
    const started = Date.now();
    for (const k of counted.keys()) if (!open.some((m) => k.startsWith(`${m.id}:`))) counted.delete(k);
    const covered = await Promise.all(open.map((m) => coverageOf(m, started)));
    reembedCoverage.reset();
    reembedStateSeconds.reset();
    const now = Date.now();
    open.forEach((m, i) => {
      reembedCoverage.set({ index: m.indexName, source_model: m.sourceModel, target_model: m.targetModel, state: m.state }, covered[i]!);
      reembedStateSeconds.set({ index: m.indexName, state: m.state }, Math.max(0, (now - new Date(m.stateSince ?? m.updatedAt).getTime()) / 1000));
    });
  };

  const collectBudgets = async () => {
    const rows = await budgetUsage(db);
    budgetUsed.reset();
    for (const { budget, spent } of rows)
      for (const l of BUDGET_LIMITS) {
        const cap = budget[l.limit];
        if (cap !== null) budgetUsed.set({ tenant: budget.tenant, period: l.period, unit: l.unit }, cap > 0 ? spent[l.spent] / cap : spent[l.spent] > 0 ? 1 : 0);
      }
  };

  const collectSpend = async () => {
    const rows = await spendTotals(db);
    spend.reset();
    for (const r of rows) spend.inc({ tenant: r.tenant, model: r.model }, r.usd);
  };

  /** Each source feeds its families from one read; `metrics` are the families it sets. */
  const sources: { service: 'redis' | 'postgres'; family: string; metrics: Named[]; collect: () => Promise<void> }[] = [
    { service: 'redis', family: 'queues', metrics: [named('embedq_queue_jobs', queueJobs)], collect: collectQueues },
    {
      service: 'postgres',
      family: 'ledger',
      metrics: [
        named('embedq_provider_requests_total', requests),
        named('embedq_provider_tokens_total', tokens),
        named('embedq_provider_errors_total', errors),
        named('embedq_provider_rate_limited_total', limited),
        named('embedq_cache_hits_total', hits),
        named('embedq_chunks_embedded_total', embedded),
        named('embedq_cache_hit_ratio', hitRatio),
      ],
      collect: collectCalls,
    },
    {
      service: 'postgres',
      family: 'deployments',
      metrics: [named('embedq_deployment_requests_total', byDeployment), named('embedq_failovers_total', failovers)],
      collect: collectDeployments,
    },
    { service: 'postgres', family: 'latency', metrics: [named(latency.name, latency as unknown as Metric)], collect: collectLatency },
    {
      service: 'postgres',
      family: 'batches',
      metrics: [named('embedq_provider_batches', batches), named('embedq_provider_batches_open', batchesOpen), named('embedq_provider_batch_oldest_open_seconds', batchAge)],
      collect: collectBatches,
    },
    {
      service: 'postgres',
      family: 'reembeds',
      metrics: [named('embedq_reembed_coverage', reembedCoverage), named('embedq_reembed_state_seconds', reembedStateSeconds)],
      collect: collectReembeds,
    },
    { service: 'postgres', family: 'budgets', metrics: [named('embedq_tenant_budget_used_ratio', budgetUsed)], collect: collectBudgets },
    { service: 'postgres', family: 'spend', metrics: [named('embedq_spend_usd_total', spend)], collect: collectSpend },
    {
      service: 'postgres',
      family: 'online',
      metrics: [
        named('embedq_online_requests_total', online),
        named('embedq_online_inputs_total', onlineInputs),
        named('embedq_online_cache_hits_total', onlineHits),
        named('embedq_online_cache_hit_ratio', onlineHitRatio),
        named(onlineLatency.name, onlineLatency as unknown as Metric),
      ],
      collect: collectOnline,
    },
  ];

  const collect = async (): Promise<string> => {
    inFlight.set(deps.inFlight?.() ?? 0);
    const results = await Promise.all(sources.map((s) => attempt(s.service, s.family, s.collect)));
    // A family that could not be read is left out of the exposition entirely: stale values would
    // mislead, and a counter shown as 0 would read as a reset and then as a burst on recovery.
    sources.forEach((s, i) => {
      for (const { name, metric } of s.metrics) {
        if (!results[i]!.ok) registry.removeSingleMetric(name);
        else if (!registry.getSingleMetric(name)) registry.registerMetric(metric);
      }
    });
    for (const service of ['redis', 'postgres'] as const)
      up.set({ service }, sources.every((s, i) => s.service !== service || results[i]!.up) ? 1 : 0);
    return registry.metrics();
  };

  let inflight: Promise<string> | undefined;
  return {
    registry,
    contentType: registry.contentType,
    scrape() {
      inflight ??= collect().finally(() => (inflight = undefined));
      return inflight;
    },
  };
}

/**
 * A histogram whose buckets the ledger query has already counted. prom-client's Histogram can
 * only `observe()` one value at a time, which would mean a call per ledger row; its registry only
 * needs `get()` returning the exposition values, so this object provides exactly that.
 */
function ledgerHistogram(name: string, help: string, boundsMs: readonly number[]) {
  let series: LatencyBuckets[] = [];
  return {
    name,
    help,
    type: 'histogram',
    aggregator: 'sum',
    replace(next: LatencyBuckets[]): void {
      series = next;
    },
    reset(): void {
      series = [];
    },
    async get() {
      const values: { metricName: string; labels: Record<string, string | number>; value: number }[] = [];
      for (const s of series) {
        const labels = { provider: s.provider, model: s.model };
        let cumulative = 0;
        s.counts.forEach((n, i) => {
          cumulative += n;
          values.push({ metricName: `${name}_bucket`, labels: { ...labels, le: i < boundsMs.length ? boundsMs[i]! / 1000 : '+Inf' }, value: cumulative });
        });
        values.push({ metricName: `${name}_sum`, labels, value: s.sumMs / 1000 }, { metricName: `${name}_count`, labels, value: cumulative });
      }
      return { name, help, type: 'histogram', aggregator: 'sum', values };
    },
  };
}
