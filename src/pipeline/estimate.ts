/**
 * `embedq ingest --dry-run`: what a run would embed and cost, computed read-only in the calling
 * process — the same reading, chunking and hashing as the workers, the same skip of unchanged
 * documents, and one cache lookup per page — before anything is spent or written.
 */
import { chunkText } from '../corpus/chunk.ts';
import { contentHash, inputHash } from '../corpus/hash.ts';
import { normalizeText } from '../corpus/normalize.ts';
import type { ExpandOptions } from '../corpus/readers/expand.ts';
import { readRoots } from '../corpus/readers/index.ts';
import type { ReadOptions, SourceDoc } from '../corpus/readers/types.ts';
import type { Tokenizer } from '../corpus/tokenizer.ts';
import type { ResolvedModel } from '../providers/types.ts';
import type { Db } from '../store/db.ts';
import { cachedInputHashes } from '../store/cache.ts';
import { storedContentHashes } from '../store/chunks.ts';

export interface Estimate {
  documents: number;
  documentsSkipped: number;
  chunks: number;
  cacheHits: number;
  /** Chunks to embed after the cache (identical texts counted once). */
  toEmbed: number;
  tokensToEmbed: number;
  estimatedCostUsd: { sync: number; batch: number | null };
  rejected: { path: string; reason: string }[];
}

export interface EstimateInput {
  db: Db;
  paths: string[];
  read: ReadOptions & ExpandOptions;
  /** The existing index's id, or null for a new index (nothing stored to skip). */
  indexId: number | null;
  tenant: string;
  model: ResolvedModel;
  chunk: { tokens: number; overlap: number };
  /** The tokenizer chunks are counted with. */
  chunkTokenizer: Tokenizer;
  /** The model's own tokenizer (what the provider bills). */
  modelTokenizer: Tokenizer;
}

const PAGE = 500;

export async function estimateRun(p: EstimateInput): Promise<Estimate> {
  const e: Estimate = { documents: 0, documentsSkipped: 0, chunks: 0, cacheHits: 0, toEmbed: 0, tokensToEmbed: 0, estimatedCostUsd: { sync: 0, batch: null }, rejected: [] };
  const seen = new Set<string>();
  let page: SourceDoc[] = [];
  const flush = async () => {
    if (page.length === 0) return;
    const docs = new Map(page.map((d) => [d.docId, { text: normalizeText(d.text), markdown: /\.(md|markdown|mdx)$/i.test(d.source) }]));
    page = [];
    const stored = p.indexId === null ? new Map<string, { hash: Buffer }>() : await storedContentHashes(p.db, p.indexId, p.tenant, [...docs.keys()]);
    const hashes: Buffer[] = [];
    const tokens: number[] = [];
    for (const [id, { text, markdown }] of docs) {
      if (!text) continue;
      if (stored.get(id)?.hash.equals(contentHash(text))) {
        e.documentsSkipped++;
        continue;
      }
      e.documents++;
      for (const c of chunkText(text, { tokens: p.chunk.tokens, overlap: p.chunk.overlap, tokenizer: p.chunkTokenizer, markdown })) {
        e.chunks++;
        const h = inputHash({ scope: p.tenant, modelKey: p.model.key, dims: p.model.dims, text: c.text });
        const key = h.toString('hex');
        if (seen.has(key)) continue; // the same text twice is embedded once
        seen.add(key);
        hashes.push(h);
        tokens.push(p.modelTokenizer.name === p.chunkTokenizer.name ? c.tokens : p.modelTokenizer.count(c.text));
      }
    }
    const hit = await cachedInputHashes(p.db, hashes);
    hashes.forEach((h, i) => {
      if (hit.has(h.toString('hex'))) e.cacheHits++;
      else {
        e.toEmbed++;
        e.tokensToEmbed += Math.min(tokens[i]!, p.model.spec.maxInputTokens);
      }
    });
  };
  for await (const item of readRoots(p.paths, p.read)) {
    if (item.kind === 'rejected') e.rejected.push({ path: item.path, reason: item.reason });
    else {
      page.push(item);
      if (page.length >= PAGE) await flush();
    }
  }
  await flush();
  const { priceSyncPerMTok, priceBatchPerMTok } = p.model.spec;
  e.estimatedCostUsd = { sync: (e.tokensToEmbed / 1e6) * priceSyncPerMTok, batch: priceBatchPerMTok === null ? null : (e.tokensToEmbed / 1e6) * priceBatchPerMTok };
  return e;
}
