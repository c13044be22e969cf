import { isAbsolute, relative } from 'node:path';
import type { Command } from 'commander';
import type { Context } from '../../context.ts';
import { UsageError } from '../../errors.ts';
import { normalizeText } from '../../corpus/normalize.ts';
import { assertSafeName } from '../../store/identifiers.ts';
import { getIndex } from '../../store/indexes.ts';
import { searchVectors, type MetadataFilter, type SearchHit } from '../../store/vectors.ts';
import type { CommandEnv } from '../command.ts';
import { wholeNumber } from '../numbers.ts';
import { parseFilters } from '../parse.ts';

export interface SearchResult {
  index: string;
  modelVersion: string;
  query: string;
  /** The tenant searched, or null for every tenant (`--all-tenants`). */
  tenant: string | null;
  /** The metadata filter applied (empty: none). */
  filter: MetadataFilter;
  hits: SearchHit[];
}

export interface SearchOptions {
  query: string;
  index: string;
  k: number;
  /** @default the configured tenant (`defaultTenant`, `EMBEDQ_TENANT`) */
  tenant?: string | undefined;
  /** Every tenant's chunks: for operators. */
  allTenants?: boolean | undefined;
  /** Only chunks of documents whose metadata matches (see parseFilters for `--filter key=value`). */
  filter?: MetadataFilter | undefined;
}

/**
 * Embeds the query with the model version the index alias points at now, then the k nearest
 * chunks of one tenant: the one given, else the configured one, as ingest does; every tenant
 * only when asked explicitly.
 */
export async function runSearch(ctx: Context, o: SearchOptions): Promise<SearchResult> {
  const name = assertSafeName(o.index);
  if (o.allTenants && o.tenant !== undefined) throw new UsageError(`give either --tenant ${o.tenant} or --all-tenants, not both`);
  const tenant = o.allTenants ? null : (o.tenant ?? ctx.config.defaultTenant);
  const query = normalizeText(o.query);
  if (!query) throw new UsageError('the query is empty');
  const index = await getIndex(ctx.db, name);
  if (!index) throw new UsageError(`index ${name} does not exist (see \`embedq status\`)`);
  const { provider } = await ctx.providers.get(index.live.modelVersionId);
  const { vectors } = await provider.embed([query], { inputType: 'query' });
  const filter = o.filter ?? [];
  const hits = await searchVectors(ctx.db, index.live.tableName, index.live.dims, vectors[0]!, o.k, tenant, { filter });
  return { index: name, modelVersion: index.live.modelKey, query, tenant, filter, hits };
}

export function formatSearch(r: SearchResult): string {
  if (r.hits.length === 0) {
    const filtered = r.filter.length ? ` matching ${r.filter.map((f) => `${f.key}=${f.values.map(String).filter((v, i, a) => a.indexOf(v) === i).join('|')}`).join(' ')}` : '';
    return r.tenant === null
      ? `no results in ${r.index}${filtered}`
      : `no results in ${r.index} for tenant ${r.tenant}${filtered} (another tenant: --tenant ID; every tenant: --all-tenants)`;
  }
  return r.hits
    .map((h, i) => {
      const snippet = h.text.replace(/\s+/g, ' ').slice(0, 160);
      const rel = relative(process.cwd(), h.source);
      const where = rel.startsWith('..') || isAbsolute(rel) ? h.source : rel;
      const meta = h.metadata && Object.keys(h.metadata).length ? `\n    ${formatMetadata(h.metadata)}` : '';
      return `${String(i + 1).padStart(2)}. ${h.score.toFixed(3)}  ${r.tenant === null ? `[${h.tenant}] ` : ''}${where}#${h.ordinal}\n    ${snippet}${h.text.length > 160 ? '…' : ''}${meta}`;
    })
    .join('\n');
}

/** A document's metadata on one line: `key=value` pairs, strings bare, other values as JSON, cut at 160 characters. */
function formatMetadata(m: Record<string, unknown>): string {
  const line = Object.entries(m)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`.replace(/\s+/g, ' '))
    .join('  ');
  return line.length > 160 ? `${line.slice(0, 160)}…` : line;
}

export function register(program: Command, env: CommandEnv): void {
  program
    .command('search')
    .description('nearest chunks of an index for a query, embedded with the index\'s own model version')
    .argument('<query>', 'the query text')
    .requiredOption('--index <name>', 'index to search')
    .option('-k, --k <n>', 'number of results', wholeNumber('-k', { min: 1, max: 1000 }), 10)
    .option('--tenant <id>', 'search this tenant\'s chunks (default: config defaultTenant, EMBEDQ_TENANT)')
    .option('--all-tenants', 'search every tenant\'s chunks (for operators)')
    .option(
      '--filter <key=value>',
      'only documents whose metadata has key=value (JSONL "metadata", CSV columns); repeat for more keys (all must match) or values (any matches); numbers, true, false and null also match as JSON',
      (v: string, prev: string[] = []) => [...prev, v],
    )
    .option('--json', 'print the result as JSON')
    .addHelpText('after', '\nExamples:\n  embedq search "rate limits" --index docs\n  embedq search "refund policy" --index kb --filter lang=en --filter product=pro -k 5 --json')
    .action(
      env.handler(async (ctx, out, query: string, opts: { index: string; k: number; tenant?: string; allTenants?: boolean; filter?: string[] }) => {
        const { filter, ...rest } = opts;
        out.result(await runSearch(ctx, { query, ...rest, filter: parseFilters(filter ?? []) }), formatSearch);
        return 0;
      }),
    );
}
