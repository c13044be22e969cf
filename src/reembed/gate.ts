/**
 * The retrieval-quality gate: the same queries against the source and the target index, each
 * embedded with its own index's model version, scored by recall@k and MRR. With a user query set
 * (query + expected chunk or document ids) those are the queries; without one, N chunks are
 * sampled deterministically and each is looked for with a query derived from it (its first
 * sentence): self-retrieval.
 */
import type { EmbeddingProvider } from '../providers/types.ts';
import type { Db } from '../store/db.ts';
import type { IndexVersion } from '../store/indexes.ts';
import { searchVectors } from '../store/vectors.ts';
import { sampleChunks } from './store.ts';

export interface GateQuery {
  query: string;
  /** Chunk ids or document ids; a hit on either counts. */
  expected: string[];
}

export interface Scores {
  recall: number;
  mrr: number;
}

/** Up to `n` sampled chunks as queries: the first sentence (at most 30 words) of each. */
export async function sampledQueries(db: Db, indexId: number, n: number): Promise<GateQuery[]> {
  return (await sampleChunks(db, indexId, n)).map((r) => ({ query: firstSentence(r.text), expected: [r.id] })).filter((q) => q.query.length > 0);
}

/**
 * The query derived from a chunk: its first sentence, or its first 20 words when that sentence is
 * too short to say anything (a heading, "Record 123."); at most 30 words.
 */
export function firstSentence(text: string): string {
  const flat = text.replace(/^#+\s*/gm, '').replace(/\s+/g, ' ').trim();
  const end = flat.search(/[.!?](\s|$)/);
  const sentence = end >= 0 ? flat.slice(0, end + 1) : flat;
  const words = sentence.split(' ');
  return (words.length >= 8 ? words.slice(0, 30) : flat.split(' ').slice(0, 20)).join(' ');
}

export async function score(db: Db, version: IndexVersion, provider: EmbeddingProvider, queries: GateQuery[], k: number): Promise<Scores> {
  if (queries.length === 0) return { recall: 0, mrr: 0 };
  const { vectors } = await provider.embed(queries.map((q) => q.query), { inputType: 'query' });
  let recall = 0;
  let mrr = 0;
  for (let i = 0; i < queries.length; i++) {
    const expected = new Set(queries[i]!.expected);
    // The gate measures the whole index: every tenant's chunks.
    const hits = await searchVectors(db, version.tableName, version.dims, vectors[i]!, k, null);
    const relevant = hits.map((h) => expected.has(h.chunkId) || expected.has(h.docId));
    const found = new Set(hits.filter((_, j) => relevant[j]).map((h) => (expected.has(h.chunkId) ? h.chunkId : h.docId)));
    recall += found.size / expected.size;
    const first = relevant.indexOf(true);
    mrr += first >= 0 ? 1 / (first + 1) : 0;
  }
  return { recall: recall / queries.length, mrr: mrr / queries.length };
}
