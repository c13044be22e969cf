/**
 * Gathers pending misses of one index version into a provider batch, crash-safely: the batch row
 * and its items are committed before anything is uploaded; each later step (upload, create)
 * records its result on the row, and a retried submit job resumes from the row's state. Before
 * creating a batch it asks the provider for one carrying our id in its metadata, so a crash
 * between "create" and "record" never makes a second batch.
 */
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inputHash } from '../corpus/hash.ts';
import { OPENAI_BATCH_LIMITS, type BatchBackend } from '../providers/batch-backend.ts';
import { packRequests } from '../providers/pack.ts';
import type { ResolvedModel } from '../providers/types.ts';
import { addBatchItems, batchBySubmitJob, batchItems, claimPending, createBatch, dropBatchItems, markSubmitted, markUploaded, recordPacked, type BatchRow } from '../store/batches.ts';
import { chunkTexts } from '../store/chunks.ts';
import { withTransaction, type Db } from '../store/db.ts';
import type { IndexVersion } from '../store/indexes.ts';

export const BATCH_METADATA_KEY = 'embedq_batch';

export interface SubmitInput {
  db: Db;
  client: BatchBackend;
  model: ResolvedModel;
  version: IndexVersion;
  tenant: string;
  runId: string;
  submitJobId: string;
  /** Most inputs per batch. @default 50,000 (OpenAI's cap for embeddings batches) */
  maxInputs?: number;
}

/** Returns the batch this job owns (created or resumed), or null when there was nothing to submit. */
export async function submitBatch(p: SubmitInput): Promise<BatchRow | null> {
  let batch = await batchBySubmitJob(p.db, p.submitJobId);
  if (!batch) {
    const created = await withTransaction(p.db, async (client) => {
      const items = await claimPending(client, p.version.id, p.tenant, p.maxInputs ?? OPENAI_BATCH_LIMITS.maxInputs);
      if (items.length === 0) return null;
      const id = await createBatch(client, { provider: p.model.spec.provider, modelVersionId: p.version.modelVersionId, indexVersionId: p.version.id, tenant: p.tenant, runId: p.runId, submitJobId: p.submitJobId });
      const lines = packLines(items, p.model);
      await addBatchItems(client, id, lines.flatMap((line, l) => line.map((it, position) => ({ ...it, customId: `${id}-${l}`, position }))));
      await recordPacked(client, id, { requests: lines.length, inputs: items.length, tokensEstimated: items.reduce((s, i) => s + i.tokens, 0) });
      return id;
    });
    if (!created) return null;
    batch = (await batchBySubmitJob(p.db, p.submitJobId))!;
  }
  if (batch.status === 'preparing') {
    const fileId = await uploadRequests(p, batch);
    await markUploaded(p.db, batch.id, fileId);
    batch = { ...batch, inputFileId: fileId, status: 'uploaded' };
  }
  if (batch.status === 'uploaded' && !batch.providerBatchId) {
    const existing = await p.client.findByMetadata(BATCH_METADATA_KEY, batch.id);
    const pb = existing ?? (await p.client.create(batch.inputFileId!, { [BATCH_METADATA_KEY]: batch.id, run: p.runId }));
    await markSubmitted(p.db, batch.id, pb.id, pb.status);
    batch = { ...batch, providerBatchId: pb.id, status: pb.status as BatchRow['status'] };
  }
  return batch;
}

/** Request lines within the per-request limits (inputs and tokens). */
function packLines<T extends { tokens: number }>(items: T[], model: ResolvedModel): T[][] {
  const maxInputs = Math.min(model.spec.maxInputsPerRequest, OPENAI_BATCH_LIMITS.inputsPerLine);
  return packRequests(items.map((i) => i.tokens), maxInputs, Math.floor(model.spec.maxTokensPerRequest * 0.9)).map((sl) => items.slice(sl.start, sl.end));
}

/**
 * Writes the JSONL request file to a temp folder (texts read from Postgres a line at a time) and
 * uploads it. A chunk whose text changed or vanished since it was queued is left out of the
 * batch: the ingest that changed it queued the new text itself.
 */
async function uploadRequests(p: SubmitInput, batch: BatchRow): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'embedq-batch-'));
  const path = join(dir, `batch-${batch.id}.jsonl`);
  try {
    const out = createWriteStream(path);
    const lines = await batchItems(p.db, batch.id);
    const stale: string[] = [];
    for (const [customId, items] of lines) {
      const texts = await chunkTexts(p.db, items.map((i) => i.chunkId));
      const input: string[] = [];
      for (const it of items) {
        const t = texts.get(it.chunkId);
        if (t && inputHash({ scope: p.tenant, modelKey: p.version.modelKey, dims: p.version.dims, text: t.text }).equals(it.inputHash)) input.push(t.text);
        else stale.push(it.chunkId);
      }
      if (input.length === 0) continue;
      const body: Record<string, unknown> = { model: p.model.spec.model, input, encoding_format: 'base64' };
      if (p.model.dimAdapter === 'provider') body.dimensions = p.model.dims;
      const line = `${JSON.stringify({ custom_id: customId, method: 'POST', url: '/v1/embeddings', body })}\n`;
      if (!out.write(line)) await new Promise((r) => out.once('drain', r));
    }
    await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())));
    // Results map to a line's remaining items in position order, so stale items leave the batch now.
    await dropBatchItems(p.db, batch.id, stale);
    return await p.client.upload(path);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
