/**
 * Reads a finished provider batch back: the output file is streamed line by line, each line
 * joined to its items by `custom_id` (output order is not input order), vectors checked and
 * written to cache and index in groups; what failed (error file, malformed or missing lines,
 * vectors of the wrong size) is returned for re-queueing with its reason. Expired and cancelled
 * batches keep their partial results the same way.
 */
import { inputHash } from '../corpus/hash.ts';
import type { BatchBackend } from '../providers/batch-backend.ts';
import { decodeIndexedEmbeddings, DimsMismatchError } from '../providers/indexed-embeddings.ts';
import type { ResolvedModel } from '../providers/types.ts';
import { batchItems, type BatchRow } from '../store/batches.ts';
import { chunkTexts } from '../store/chunks.ts';
import type { Db } from '../store/db.ts';
import type { IndexVersion } from '../store/indexes.ts';
import { writeFresh, type FreshVector } from '../store/vectors.ts';

export interface BatchResults {
  written: number;
  completed: number;
  tokensBilled: number;
  /** Inputs to embed again, with why. */
  retry: { chunkId: string; inputHash: Buffer; tokens: number; reason: string }[];
  /** Problems seen in the result files, for `embedq batches show`. */
  problems: string[];
}

const WRITE_GROUP = 2000;

export async function ingestBatchResults(p: { db: Db; client: BatchBackend; batch: BatchRow; model: ResolvedModel; version: IndexVersion }): Promise<BatchResults> {
  const { db, batch, version } = p;
  const lines = await batchItems(db, batch.id);
  const out: BatchResults = { written: 0, completed: 0, tokensBilled: 0, retry: [], problems: [] };
  const done = new Set<string>();
  const fail = (customId: string, reason: string) => {
    if (done.has(customId)) return;
    done.add(customId);
    for (const it of lines.get(customId) ?? []) out.retry.push({ ...it, reason });
  };
  let group: { chunkId: string; inputHash: Buffer; vector: Float32Array }[] = [];
  const flush = async () => {
    if (group.length === 0) return;
    const texts = await chunkTexts(db, group.map((g) => g.chunkId));
    const fresh: FreshVector[] = [];
    for (const g of group) {
      const t = texts.get(g.chunkId);
      // A chunk changed since submission is left to the job its change queued.
      if (t && inputHash({ scope: batch.tenant, modelKey: version.modelKey, dims: version.dims, text: t.text }).equals(g.inputHash))
        fresh.push({ chunkId: g.chunkId, tenant: t.tenant, inputHash: g.inputHash, textHash: t.textHash, vector: g.vector });
    }
    out.written += await writeFresh(db, version.tableName, version.modelVersionId, fresh);
    group = [];
  };

  if (batch.outputFileId) {
    let n = 0;
    for await (const raw of p.client.lines(batch.outputFileId)) {
      n++;
      let line: { custom_id?: string; response?: { status_code?: number; body?: { data?: unknown[]; usage?: { prompt_tokens?: number; total_tokens?: number } } } };
      try {
        line = JSON.parse(raw);
      } catch {
        out.problems.push(`output line ${n}: not valid JSON`);
        continue;
      }
      const id = line.custom_id;
      const items = id ? lines.get(id) : undefined;
      if (!id || !items) {
        out.problems.push(`output line ${n}: unknown custom_id ${JSON.stringify(id)}`);
        continue;
      }
      const data = line.response?.body?.data;
      if (line.response?.status_code !== 200 || !Array.isArray(data)) {
        fail(id, `batch request failed with status ${line.response?.status_code ?? 'unknown'}`);
        continue;
      }
      // The sync decoder's checks and dimension adapter (truncate/pad models return native sizes).
      let vectors: Float32Array[];
      try {
        vectors = decodeIndexedEmbeddings(line.response.body, items.length, p.model, 'batch');
      } catch (e) {
        const bad = e instanceof DimsMismatchError ? `${(e as Error).message}: rows rejected, never written` : (e as Error).message;
        out.problems.push(`${id}: ${bad}`);
        fail(id, bad);
        continue;
      }
      done.add(id);
      out.completed += items.length;
      // Voyage reports `total_tokens` only (embeddings have no completion tokens).
      const usage = line.response?.body?.usage;
      out.tokensBilled += usage?.prompt_tokens ?? usage?.total_tokens ?? 0;
      items.forEach((it, i) => group.push({ chunkId: it.chunkId, inputHash: it.inputHash, vector: vectors[i]! }));
      if (group.length >= WRITE_GROUP) await flush();
    }
    await flush();
  }
  if (batch.errorFileId) {
    for await (const raw of p.client.lines(batch.errorFileId)) {
      try {
        const e = JSON.parse(raw) as { custom_id?: string; error?: { code?: string; message?: string } | string | null; response?: { status_code?: number; body?: { error?: { message?: string }; message?: string; detail?: string } } | null };
        // OpenAI's `error.code` or body `error.message`; Mistral's body `message`; Voyage's `detail`.
        const b = e.response?.body;
        const why = (typeof e.error === 'string' ? e.error : e.error?.code) ?? b?.error?.message ?? b?.message ?? b?.detail ?? `status ${e.response?.status_code ?? 'unknown'}`;
        if (e.custom_id && lines.has(e.custom_id)) fail(e.custom_id, `batch error: ${why}`);
      } catch {
        out.problems.push('error file: a line that is not valid JSON');
      }
    }
  }
  // Requests that appear in neither file (a truncated output, an expired or cancelled batch).
  for (const id of lines.keys()) if (!done.has(id)) fail(id, `missing from the batch results (status ${batch.status})`);
  return out;
}
