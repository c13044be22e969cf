/**
 * embedq as a library: `import { createEmbedq } from 'embedq'`.
 *
 * Every method is the function the matching CLI command calls (ingest, search, reembed, spend),
 * on one Context that the instance owns until close(). Configuration is read as the CLI reads it
 * (environment, then `embedq.config.json` or `configFile`, then defaults), with `config` winning
 * over both. Errors are the CLI's: `UsageError` for a bad call, `ConfigError` for bad settings.
 *
 * @example
 * const eq = createEmbedq({ config: { defaultTenant: 'acme' } });
 * await eq.ingest(rowsFromMyDb(), { index: 'kb' });          // async iterable of { id, text, metadata }
 * const { hits } = await eq.search('refund policy', { index: 'kb', filter: { lang: 'en' } });
 * await eq.close();
 */
import { runIngest, type IngestSummary } from './cli/commands/ingest.ts';
import type { IngestOptions } from './cli/commands/ingest-options.ts';
import { runReembedAction, runReembedStart, type StartArgs } from './cli/commands/reembed.ts';
import { reembedStatus, type ReembedStatus } from './cli/commands/reembed-status.ts';
import { runSearch, type SearchResult } from './cli/commands/search.ts';
import { runSpend, type SpendResult } from './cli/commands/spend.ts';
import { loadConfig } from './config/load.ts';
import { createContext, type Context } from './context.ts';
import { UsageError } from './errors.ts';
import { createLogger } from './logger.ts';
import type { RecordInput } from './pipeline/records.ts';
import { migrate } from './store/migrate.ts';
import type { MetadataFilter } from './store/vectors.ts';

export { ConfigError, UsageError } from './errors.ts';
export type { IngestSummary } from './cli/commands/ingest.ts';
export type { ReembedStatus } from './cli/commands/reembed-status.ts';
export type { SearchResult } from './cli/commands/search.ts';
export type { SpendResult } from './cli/commands/spend.ts';
export type { SearchHit } from './store/vectors.ts';
export type { RecordInput } from './pipeline/records.ts';

/** One record for {@link Embedq.ingest}: its id is the document id, so ingesting it again updates it. */
export interface EmbedqRecord {
  id: string | number;
  text: string;
  metadata?: Record<string, unknown>;
}

export interface EmbedqOptions {
  /** Settings that win over the environment and the config file, by their config names (README, "Configuration"). */
  config?: Record<string, unknown>;
  /** A JSON config file. @default `$EMBEDQ_CONFIG`, else `./embedq.config.json` if present */
  configFile?: string;
  /** The environment to read `EMBEDQ_*`, `DATABASE_URL`, `REDIS_URL` and provider keys from. @default process.env */
  env?: NodeJS.ProcessEnv;
  /** Apply pending schema migrations on first use, as `embedq db migrate` does. @default true */
  migrate?: boolean;
}

export interface IngestCallOptions {
  index: string;
  /** `provider/model` of a new index. @default the configured defaultModel */
  model?: string;
  dims?: number;
  /** @default the configured defaultTenant */
  tenant?: string;
  chunkTokens?: number;
  chunkOverlap?: number;
  /** sync, or batch (the provider's batch API: cheaper, slower). Files also take auto. @default sync */
  mode?: 'sync' | 'batch' | 'auto';
  /** Wait until the run is indexed (running the jobs in this process when no worker is live). @default true */
  wait?: boolean;
  /** May this process run the jobs itself when no `embedq worker` is live. @default true */
  localWorker?: boolean;
  /** Records: the documents' source, shown by search. @default 'records' */
  source?: string;
  /** Files: JSONL field / CSV column of the text and of the id, CSV columns kept as metadata. */
  textField?: string;
  idField?: string;
  metadataColumns?: string[];
  globalIds?: boolean;
  followSymlinks?: boolean;
}

export interface SearchCallOptions {
  index: string;
  /** @default 10 */
  k?: number;
  /** @default the configured defaultTenant */
  tenant?: string;
  /** Every tenant's chunks (for operators). */
  allTenants?: boolean;
  /** Metadata that must match: a key with one value, or with a list of values any of which matches. */
  filter?: Record<string, unknown>;
}

export interface Embedq {
  /** Indexes files, directories and globs (`string | string[]`), or records (an iterable or async iterable of {@link EmbedqRecord}). */
  ingest(input: string | readonly string[] | Iterable<EmbedqRecord> | AsyncIterable<EmbedqRecord>, opts: IngestCallOptions): Promise<IngestSummary>;
  /** The k nearest chunks of the index for a query, with their documents' metadata. */
  search(query: string, opts: SearchCallOptions): Promise<SearchResult>;
  reembed: {
    start(opts: Omit<StartArgs, 'progress' | 'notice' | 'queries'> & { queries?: string }): Promise<ReembedStatus>;
    status(index: string): Promise<ReembedStatus>;
    cutover(index: string, opts?: { force?: boolean }): Promise<ReembedStatus>;
    rollback(index: string): Promise<ReembedStatus>;
  };
  /** Spend and savings from the ledger, grouped by tenant, model, day, mode, run, key or deployment. */
  spend(opts?: { by?: string; since?: string; tenant?: string }): Promise<SpendResult>;
  /** Closes the connections (and any in-process worker is already closed when each call returns). */
  close(): Promise<void>;
  /** The Context the calls share, for what the API does not cover yet. */
  readonly context: Context;
}

/** Creates an embedq instance: connections open on first use and stay open until close(). */
export function createEmbedq(opts: EmbedqOptions = {}): Embedq {
  const config = loadConfig({ ...(opts.configFile ? { file: opts.configFile } : {}), ...(opts.env ? { env: opts.env } : {}), ...(opts.config ? { overrides: opts.config } : {}) });
  const ctx = createContext(config, { logger: createLogger(config.logLevel) });
  let ready: Promise<void> | undefined;
  // Like `embedq db migrate`: idempotent, serialized by an advisory lock across processes.
  const use = async (): Promise<Context> => {
    if (opts.migrate !== false) await (ready ??= migrate(ctx.db, config.dbSchema).then(() => undefined));
    return ctx;
  };
  const actor = 'api';
  return {
    context: ctx,
    async ingest(input, o) {
      const isPaths = typeof input === 'string' || (Array.isArray(input) && input.every((p) => typeof p === 'string'));
      const base: IngestOptions = {
        paths: isPaths ? (typeof input === 'string' ? [input] : [...(input as readonly string[])]) : [],
        ...(isPaths ? {} : { records: input as RecordInput, recordsLabel: o.source }),
        index: o.index,
        model: o.model,
        dims: o.dims,
        tenant: o.tenant,
        chunkTokens: o.chunkTokens,
        chunkOverlap: o.chunkOverlap,
        mode: o.mode,
        wait: o.wait ?? true,
        localWorker: o.localWorker ?? true,
        progress: false,
        textField: o.textField,
        idField: o.idField,
        metadataColumns: o.metadataColumns?.join(','),
        globalIds: o.globalIds,
        followSymlinks: o.followSymlinks,
      };
      return runIngest(await use(), base);
    },
    async search(query, o) {
      return runSearch(await use(), { query, index: o.index, k: o.k ?? 10, tenant: o.tenant, allTenants: o.allTenants, filter: toFilter(o.filter) });
    },
    reembed: {
      start: async (o) => runReembedStart(await use(), { ...o, progress: false }),
      status: async (index) => reembedStatus(await use(), index),
      cutover: async (index, o = {}) => runReembedAction(await use(), index, 'cutover', { force: o.force, actor }),
      rollback: async (index) => runReembedAction(await use(), index, 'rollback', { actor }),
    },
    async spend(o = {}) {
      return runSpend(await use(), { by: o.by ?? 'tenant', since: o.since, tenant: o.tenant });
    },
    close: () => ctx.close(),
  };
}

/** `{ lang: 'en', year: [2023, 2024] }` → the store's filter: each key with the values any of which matches. */
function toFilter(f: Record<string, unknown> | undefined): MetadataFilter | undefined {
  if (f === undefined) return undefined;
  return Object.entries(f).map(([key, v]) => {
    const values = Array.isArray(v) ? v : [v];
    if (values.length === 0) throw new UsageError(`filter ${key}: give at least one value`);
    return { key, values };
  });
}
