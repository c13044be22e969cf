/**
 * One embed job: a batch of cache misses for one index version. Texts are read from Postgres
 * (jobs carry chunk ids and input hashes, never texts or secrets), re-hashed so a chunk that
 * changed since enqueueing is left to its newer job, looked up in the cache once more (another
 * worker may have embedded them meanwhile), deduplicated, claimed against other jobs embedding
 * the same inputs at the same time, embedded, and written in one transaction. Every provider
 * attempt is ledgered.
 */
import { inputHash } from '../corpus/hash.ts';
import { DelayJobError, NonRetryableError } from '../errors.ts';
import { checkBudget } from '../store/budgets.ts';
import type { Tokenizer } from '../corpus/tokenizer.ts';
import type { Db } from '../store/db.ts';
import { chunkTexts } from '../store/chunks.ts';
import type { IndexVersion } from '../store/indexes.ts';
import { fillFromCache, writeFresh, type FreshVector } from '../store/vectors.ts';
import { l2normalize } from '../providers/vectors.ts';
import type { EmbeddingProvider } from '../providers/types.ts';
import { DrainedError } from '../providers/pack.ts';
import type { InputClaims } from '../queue/claims.ts';
import { attemptLedger } from './attempt-ledger.ts';

export interface EmbedBatchInput {
  db: Db;
  version: IndexVersion;
  tenant: string;
  provider: EmbeddingProvider;
  tokenizer: Tokenizer;
  overlong: 'truncate' | 'split';
  items: { chunkId: string; inputHash: Buffer }[];
  jobId?: string;
  runId?: string;
  /** A job delayed by the budget is checked again after at most this long. @default 60000 */
  budgetRecheckMs?: number;
  /** The worker is shutting down: requests in flight finish and their vectors are stored, the rest is left for later. */
  drain?: AbortSignal;
  /** Claim inputs before sending them (src/queue/claims.ts); `onWait` hears how many another job holds. */
  claims?: { claims: InputClaims; owner: string; onWait?: (held: number) => Promise<void> };
}

export interface EmbedBatchResult {
  embedded: number;
  cacheHits: number;
  stale: number;
  tokens: number;
  costUsd: number;
  truncated: number;
  split: number;
  retries: number;
}

export async function embedBatch(p: EmbedBatchInput): Promise<EmbedBatchResult> {
  const { db, version, tenant } = p;
  const out: EmbedBatchResult = { embedded: 0, cacheHits: 0, stale: 0, tokens: 0, costUsd: 0, truncated: 0, split: 0, retries: 0 };
  const texts = await chunkTexts(db, p.items.map((i) => i.chunkId));
  // Stored token counts are reusable when the model counts with the tokenizer the index chunked with.
  const sameTokenizer = p.tokenizer.name === version.indexTokenizer;
  const live: Live[] = [];
  for (const item of p.items) {
    const t = texts.get(item.chunkId);
    const h = t && inputHash({ scope: tenant, modelKey: version.modelKey, dims: version.dims, text: t.text });
    if (!t || !h!.equals(item.inputHash)) {
      out.stale++;
      continue;
    }
    live.push({ chunkId: item.chunkId, tenant: t.tenant, inputHash: h!, textHash: t.textHash, text: t.text, tokens: sameTokenizer ? t.tokens : undefined });
  }
  const hits = await fillFromCache(db, version.tableName, version.modelVersionId, live);
  out.cacheHits = hits.size;
  let todo = live.filter((l) => !hits.has(l.chunkId));
  // Inputs another live job is embedding are not sent again: wait for them, then take them from
  // the cache; what is still missing (its holder failed) is claimed and embedded next round.
  while (todo.length > 0) {
    const hashes = [...new Set(todo.map((m) => m.inputHash.toString('hex')))];
    const held = p.claims ? await p.claims.claims.claim(p.claims.owner, hashes) : new Set<string>();
    const mine = todo.filter((m) => !held.has(m.inputHash.toString('hex')));
    if (mine.length > 0) {
      const mineHashes = hashes.filter((h) => !held.has(h));
      await (p.claims ? p.claims.claims.holding(p.claims.owner, mineHashes, () => pay(p, mine, out)) : pay(p, mine, out));
    }
    if (held.size === 0) break;
    const theirs = todo.filter((m) => held.has(m.inputHash.toString('hex')));
    await p.claims?.onWait?.(held.size);
    await p.claims!.claims.released([...held]);
    const filled = await fillFromCache(db, version.tableName, version.modelVersionId, theirs);
    out.cacheHits += filled.size;
    todo = theirs.filter((m) => !filled.has(m.chunkId));
  }
  return out;
}

type Live = { chunkId: string; tenant: string; inputHash: Buffer; textHash: Buffer; text: string; tokens: number | undefined };

/** Embeds `misses` (one provider input per distinct hash) and writes their vectors, adding to `out`. */
async function pay(p: EmbedBatchInput, misses: Live[], out: EmbedBatchResult): Promise<void> {
  const { db, version, tenant, provider } = p;
  const spec = provider.model.spec;
  // One provider input per distinct hash; over-long texts truncated or split into parts.
  const unique = new Map<string, { text: string; parts: number[] }>();
  const inputs: string[] = [];
  const counts: (number | undefined)[] = [];
  for (const m of misses) {
    const key = m.inputHash.toString('hex');
    if (unique.has(key)) continue;
    const parts = fitToModel(m.text, p.tokenizer, spec.maxInputTokens, p.overlong, m.tokens);
    if (parts.length > 1) out.split++;
    else if (parts[0] !== m.text) out.truncated++;
    const idx = parts.map((part) => {
      counts.push(part === m.text ? m.tokens : undefined);
      return inputs.push(part) - 1;
    });
    unique.set(key, { text: m.text, parts: idx });
  }
  const tokenCounts = counts.every((c) => c !== undefined) ? (counts as number[]) : undefined;

  // The tenant's budget is checked before the provider is called, never after.
  const upcoming = tokenCounts ? tokenCounts.reduce((a, b) => a + b, 0) : inputs.reduce((a, t) => a + p.tokenizer.count(t), 0);
  const budget = await checkBudget(db, tenant, upcoming, (upcoming / 1e6) * spec.priceSyncPerMTok);
  if (!budget.ok) {
    if (budget.budget?.onExceed === 'fail') throw new NonRetryableError(budget.reason!);
    throw new DelayJobError(budget.reason!, Math.max(100, Math.min(p.budgetRecheckMs ?? 60_000, budget.resetsAt!.getTime() - Date.now())));
  }

  // Every attempt is ledgered before it is sent, and settled when it ends.
  const ledger = attemptLedger(db, { tenant, provider: spec.provider, modelVersionId: version.modelVersionId, mode: 'sync', jobId: p.jobId ?? null, runId: p.runId ?? null }, spec.priceSyncPerMTok);
  let res: { vectors: (Float32Array | undefined)[]; tokens: number; retries: number };
  let drained: DrainedError | undefined;
  try {
    res = await provider
      .embed(inputs, { inputType: 'document', onSend: ledger.onSend, onCall: ledger.onCall, ...(p.drain ? { drain: p.drain } : {}), ...(tokenCounts ? { tokenCounts } : {}) })
      .finally(() => ledger.settled());
  } catch (e) {
    // Shutdown: keep what was paid for (stored below, so the job's next run finds it in the cache).
    if (!(e instanceof DrainedError)) throw e;
    drained = e;
    res = { vectors: e.vectors, tokens: e.tokens, retries: 0 };
  }
  out.tokens += res.tokens;
  out.retries += res.retries;
  out.costUsd += (res.tokens / 1e6) * spec.priceSyncPerMTok;

  const vectorOf = new Map<string, Float32Array>();
  for (const [key, u] of unique) {
    const parts = u.parts.map((i) => res.vectors[i]);
    if (parts.every((v) => v !== undefined)) vectorOf.set(key, parts.length === 1 ? parts[0]! : meanOf(parts));
  }
  const fresh: FreshVector[] = [];
  for (const m of misses) {
    const vector = vectorOf.get(m.inputHash.toString('hex'));
    if (vector) fresh.push({ chunkId: m.chunkId, tenant: m.tenant, inputHash: m.inputHash, textHash: m.textHash, vector });
  }
  out.embedded += await writeFresh(db, version.tableName, version.modelVersionId, fresh);
  // Back to the queue at once, without spending an attempt: another worker does the rest.
  if (drained) throw new DelayJobError(`worker shutting down: ${fresh.length} of ${misses.length} chunks embedded and stored; the rest go back to the queue`, 1);
}

/** The text as one input within the model's token limit, or several parts when splitting. */
export function fitToModel(text: string, tokenizer: Tokenizer, maxTokens: number, mode: 'truncate' | 'split', knownCount?: number): string[] {
  if ((knownCount ?? tokenizer.count(text)) <= maxTokens) return [text];
  if (mode === 'truncate') return [tokenizer.truncate(text, maxTokens)];
  const parts: string[] = [];
  let rest = text;
  while (rest.length > 0) {
    const head = tokenizer.truncate(rest, maxTokens);
    if (head.length === 0) break;
    parts.push(head);
    rest = rest.slice(head.length).trimStart();
  }
  return parts;
}

/** Mean of unit vectors, re-normalized: the embedding of a text split into parts. */
function meanOf(vs: Float32Array[]): Float32Array {
  const out = new Float32Array(vs[0]!.length);
  for (const v of vs) for (let i = 0; i < v.length; i++) out[i]! += v[i]!;
  return l2normalize(out);
}
