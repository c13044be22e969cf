/**
 * One page of a backfill: the next chunks of the index by id (keyset, never OFFSET), hashed for
 * the target model version; what the cache knows is copied into the target inside Postgres, the
 * rest is returned as misses for embed jobs (or a provider batch). The caller records the cursor
 * only after the misses are queued, so a crash repeats at most one page, and the repeat is free
 * (content-derived job ids, cache, idempotent writes).
 */
import { inputHash } from '../corpus/hash.ts';
import type { Tokenizer } from '../corpus/tokenizer.ts';
import type { Db } from '../store/db.ts';
import type { IndexVersion } from '../store/indexes.ts';
import { fillFromCache } from '../store/vectors.ts';
import { chunkPage } from './store.ts';

export interface BackfillPage {
  /** Last chunk id of this page (the next cursor), or the old cursor when the page was empty. */
  cursor: string;
  chunks: number;
  cacheHits: number;
  /** Misses by tenant (the input hash scope). */
  misses: Map<string, { chunkId: string; inputHash: Buffer; tokens: number }[]>;
  done: boolean;
}

export async function backfillPage(p: { db: Db; indexId: number; target: IndexVersion; cursor: string; pageSize: number; tokenizer: Tokenizer }): Promise<BackfillPage> {
  const rows = await chunkPage(p.db, p.indexId, p.cursor, p.pageSize);
  const page: BackfillPage = { cursor: rows.at(-1)?.id ?? p.cursor, chunks: rows.length, cacheHits: 0, misses: new Map(), done: rows.length < p.pageSize };
  if (rows.length === 0) return page;
  const sameTokenizer = p.tokenizer.name === p.target.indexTokenizer;
  const items = rows.map((r) => ({
    chunkId: r.id,
    tenant: r.tenant,
    inputHash: inputHash({ scope: r.tenant, modelKey: p.target.modelKey, dims: p.target.dims, text: r.text }),
    tokens: sameTokenizer ? r.tokens : p.tokenizer.count(r.text),
  }));
  const hits = await fillFromCache(p.db, p.target.tableName, p.target.modelVersionId, items);
  page.cacheHits = hits.size;
  for (const it of items) {
    if (hits.has(it.chunkId)) continue;
    let list = page.misses.get(it.tenant);
    if (!list) page.misses.set(it.tenant, (list = []));
    list.push({ chunkId: it.chunkId, inputHash: it.inputHash, tokens: it.tokens });
  }
  return page;
}
