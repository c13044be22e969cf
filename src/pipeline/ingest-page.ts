/**
 * One page of documents through the pipeline: skip unchanged documents, chunk and store the rest,
 * fill what the cache already knows into every target index, and return the misses for embed
 * jobs. Every step is one statement per page, and replaying a page changes nothing.
 */
import { chunkText } from '../corpus/chunk.ts';
import { contentHash, inputHash, textHash } from '../corpus/hash.ts';
import { normalizeText } from '../corpus/normalize.ts';
import type { Tokenizer } from '../corpus/tokenizer.ts';
import type { SourceDoc } from '../corpus/readers/types.ts';
import type { Db } from '../store/db.ts';
import { withTransaction } from '../store/db.ts';
import { chunksWithoutVectors, storedContentHashes, trimChunks, updateMetadata, upsertChunks, upsertDocuments, type ChunkRow } from '../store/chunks.ts';
import type { IndexInfo, IndexVersion } from '../store/indexes.ts';
import { writeTargets } from '../reembed/store.ts';
import { quoteIdent } from '../store/identifiers.ts';
import { lockIndexShared } from '../store/locks.ts';
import { deleteVectors, fillFromCache } from '../store/vectors.ts';
import { adoptLegacyIds } from './legacy-ids.ts';

export interface PageResult {
  documents: number;
  documentsSkipped: number;
  chunks: number;
  /** Chunks whose vector came from the cache, summed over the target versions. */
  cacheHits: number;
  /** Chunks whose vector came from the cache, per target version id. */
  hitInputs: Map<number, number>;
  /** Tokens of the cache hits (what the cache saved), per target version. */
  hitTokens: Map<number, number>;
  /** Chunks still to embed, per target version id. */
  misses: Map<number, { chunkId: string; inputHash: Buffer; tokens: number }[]>;
  /** The versions this page wrote to (read under the index lock, so a migration starting now is seen). */
  targets: IndexVersion[];
  rejected: { path: string; reason: string }[];
}

export interface PageInput {
  db: Db;
  index: IndexInfo;
  tenant: string;
  tokenizer: Tokenizer;
  docs: SourceDoc[];
}

export async function ingestPage(p: PageInput): Promise<PageResult> {
  const { db, index, tenant } = p;
  // Only an index an older embedq wrote can hold old ids: one lookup per page there, none elsewhere.
  if (index.legacyDocIds) await adoptLegacyIds(db, index, tenant, p.docs);
  const result: PageResult = { documents: 0, documentsSkipped: 0, chunks: 0, cacheHits: 0, hitInputs: new Map(), hitTokens: new Map(), misses: new Map(), rejected: [], targets: [] };

  // Later duplicates of a doc id in one page win, as they would across pages.
  const byId = new Map<string, { doc: SourceDoc; text: string; hash: Buffer }>();
  for (const doc of p.docs) {
    const text = normalizeText(doc.text);
    if (text.length === 0) {
      result.rejected.push({ path: doc.source, reason: 'no text after normalization' });
      continue;
    }
    byId.set(doc.docId, { doc, text, hash: contentHash(text) });
  }
  const ids = [...byId.keys()];
  // With, for each, whether the live index lacks any of its chunks' vectors.
  const stored = await storedContentHashes(db, index.id, tenant, ids, quoteIdent(index.live.tableName));
  const unchanged = ids.filter((id) => stored.get(id)?.hash.equals(byId.get(id)!.hash));
  // Metadata is not part of the content hash: an unchanged text may come with edited metadata.
  // Only pages where either side has any pay the statement.
  const metaCheck = unchanged.filter((id) => stored.get(id)!.hasMetadata || byId.get(id)!.doc.metadata !== undefined);
  await updateMetadata(db, index.id, tenant, metaCheck.map((docId) => ({ docId, metadata: byId.get(docId)!.doc.metadata ?? null })));
  // An unchanged document is skipped only if the live index holds all its chunks: an interrupted
  // earlier run may have stored the chunks but not their vectors. (A migration target being
  // backfilled is the backfill's to complete; checking it here would embed everything twice.)
  const incomplete = new Set(unchanged.filter((id) => stored.get(id)!.missingVectors));
  const unchangedSet = new Set(unchanged);
  const todo = ids.filter((id) => !unchangedSet.has(id) || incomplete.has(id));
  result.documentsSkipped = ids.length - todo.length;
  result.documents = todo.length;
  if (todo.length === 0) return result;

  const chunkRows: ChunkRow[] = [];
  const counts: { docId: string; chunkCount: number }[] = [];
  for (const id of todo) {
    const { doc, text, hash } = byId.get(id)!;
    const chunks = chunkText(text, { tokens: index.chunkTokens, overlap: index.chunkOverlap, tokenizer: p.tokenizer, markdown: /\.(md|markdown|mdx)$/i.test(doc.source) });
    counts.push({ docId: id, chunkCount: chunks.length });
    for (const c of chunks) chunkRows.push({ docId: id, ordinal: c.ordinal, text: c.text, textHash: c.text === text ? hash : textHash(c.text), charStart: c.charStart, charEnd: c.charEnd, tokens: c.tokens });
  }
  result.chunks = chunkRows.length;

  // Documents seen before may have old chunks to trim and unchanged chunks without vectors;
  // new documents have neither, which saves two statements per page on a first load.
  const known = todo.filter((id) => stored.has(id));
  const { written, targets } = await withTransaction(db, async (client) => {
    // Shared with other pages, exclusive against `reembed start`: either this page commits before
    // a migration exists (and the backfill, which starts after, walks its chunks), or it sees the
    // migration here and writes the target too. No chunk falls between the two.
    await lockIndexShared(client, index.name);
    const targets = await writeTargets(client, index.id);
    await upsertDocuments(
      client,
      index.id,
      tenant,
      counts.map(({ docId, chunkCount }) => {
        const e = byId.get(docId)!;
        return { docId, source: e.doc.source, contentHash: e.hash, chunkCount, metadata: e.doc.metadata ?? null };
      }),
    );
    const changed = await upsertChunks(client, index.id, tenant, chunkRows);
    const knownSet = new Set(known);
    const removed = known.length ? await trimChunks(client, index.id, tenant, counts.filter((c) => knownSet.has(c.docId))) : [];
    // Vectors of changed or removed chunks are stale in every target: drop them in the same transaction.
    const stale = [...changed.filter((c) => knownSet.has(c.docId)).map((c) => c.id), ...removed];
    if (stale.length) for (const t of targets) await deleteVectors(client, t.tableName, stale);
    return { written: changed, targets };
  });
  result.targets = targets;

  const byKey = new Map(chunkRows.map((c) => [`${c.docId}\u0000${c.ordinal}`, c]));
  for (const t of targets) {
    const knownSet = new Set(known);
    const missing = [...written.filter((c) => !knownSet.has(c.docId)), ...(await chunksWithoutVectors(db, quoteIdent(t.tableName), index.id, tenant, known))];
    const items = missing.map((m) => {
      const c = byKey.get(`${m.docId}\u0000${m.ordinal}`)!;
      return { chunkId: m.id, inputHash: inputHash({ scope: tenant, modelKey: t.modelKey, dims: t.dims, text: c.text }), tokens: c.tokens };
    });
    const hits = await fillFromCache(db, t.tableName, t.modelVersionId, items);
    result.cacheHits += hits.size;
    result.hitInputs.set(t.id, hits.size);
    result.hitTokens.set(t.id, items.filter((i) => hits.has(i.chunkId)).reduce((s, i) => s + i.tokens, 0));
    result.misses.set(t.id, items.filter((i) => !hits.has(i.chunkId)));
  }
  return result;
}
