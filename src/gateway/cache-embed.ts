/**
 * One online request's inputs through the cache `embedq ingest` writes: every input looked up
 * under the caller's tenant scope in one query, the misses sent to the provider together (packed
 * by its limits, under the shared rate limiter, failing over between deployments), then written
 * to the cache. Results come back in input order.
 *
 * Identical misses are embedded once: within a request, and across the requests in flight in
 * this process (single flight), so a burst of one query costs one provider input.
 */
import { hashedInputType, inputHash } from '../corpus/hash.ts';
import { normalizeText } from '../corpus/normalize.ts';
import type { ProviderPool } from '../providers/pool.ts';
import type { EmbedOptions } from '../providers/types.ts';
import { addToCache, cachedVectors } from '../store/cache.ts';
import type { Queryable } from '../store/db.ts';
import { TurnBatch, togetherOrAlone } from '../turn-batch.ts';

interface CacheWrite {
  modelVersionId: number;
  rows: { inputHash: Buffer; vector: Float32Array }[];
  done: (e?: unknown) => void;
}

export interface CacheEmbedRequest {
  tenant: string;
  modelVersionId: number;
  /**
   * The inputs as the client sent them: texts, which the cache keys (and the provider sees) in
   * their normalized form, or token ids that encode no text, keyed and sent as they are (only for
   * a model that takes ids).
   */
  inputs: readonly (string | readonly number[])[];
  /** Each input's tokens by the model's own tokenizer, when the caller counted them: the provider packs by them (required for token-id inputs). */
  tokenCounts?: readonly number[];
  inputType: 'query' | 'document';
}

export interface CacheEmbedResult {
  /** In input order. */
  vectors: Float32Array[];
  /** Inputs answered from the cache (or by a request in flight that embedded the same text). */
  hits: number;
  /** Positions of the inputs this request sent to the provider (each distinct text once); every other input was a hit. */
  sent: number[];
  /** Tokens the provider billed for this request's misses. */
  tokens: number;
  retries: number;
  /**
   * Settles when this request's new vectors are in the cache (at once when it had none). The
   * vectors are answered before: the caller awaits it beside its own ledger writes. Until it
   * settles the vectors stay in flight, so an identical request in this process borrows them
   * rather than missing. Rejects when the write failed (the vectors are still good).
   */
  written: Promise<void>;
}

/** What a request found before it called the provider: inputs cached, riding on a request in flight, and its own misses. */
export interface CachePlan {
  cached: number;
  borrowed: number;
  misses: number;
}

export class CacheEmbedder {
  readonly #db: Queryable;
  readonly #providers: ProviderPool;
  /** Misses being embedded now, by hex input hash. */
  readonly #inFlight = new Map<string, Promise<Float32Array>>();

  readonly #writeDb: Queryable;
  /** The cache rows of the requests answered in one turn, one statement per model version. */
  readonly #writes = new TurnBatch<CacheWrite>((ws) => this.#write(ws));

  /** @param writeDb where fresh vectors are cached (@default db): a cache row lost in a crash only costs embedding that text again */
  constructor(db: Queryable, providers: ProviderPool, writeDb: Queryable = db) {
    this.#db = db;
    this.#providers = providers;
    this.#writeDb = writeDb;
  }

  /**
   * @param opts the ledger's hooks for the provider call, the request's abort signal,
   *   `onPlan`, told what the request found before anything is sent (for logs and tests),
   *   `before`, started in the same turn as the cache lookup (so its statements share the
   *   lookup's round trip) and awaited with it: a rejection fails the request before anything is
   *   decided, and `admit`, given the positions of this request's own misses before they are
   *   sent: a rejection fails the request, and those riding on it, with nothing sent
   */
  async embed(
    r: CacheEmbedRequest,
    opts: Pick<EmbedOptions, 'onSend' | 'onCall' | 'signal'> & { onPlan?: (p: CachePlan) => void; before?: () => Promise<void>; admit?: (misses: readonly number[]) => Promise<void> } = {},
  ): Promise<CacheEmbedResult> {
    const { onPlan, before, admit, ...callOpts } = opts;
    const { mv, provider } = await this.#providers.get(r.modelVersionId);
    const { resolved } = mv;
    const inputType = hashedInputType(resolved.spec.inputTypes, r.inputType);
    const texts = r.inputs.map((x) => (typeof x === 'string' ? normalizeText(x) : ''));
    const keys = r.inputs.map((x, i) => {
      const base = { scope: r.tenant, modelKey: mv.key, dims: resolved.dims, inputType };
      return typeof x === 'string' ? inputHash({ ...base, text: texts[i]! }) : inputHash({ ...base, tokens: x });
    });
    const hex = keys.map((k) => k.toString('hex'));
    const [cached] = await Promise.all([cachedVectors(this.#db, keys), before?.()]);

    // Decided with no await in between, so a flight seen here cannot end unseen: the misses
    // nobody is embedding yet (each text once) are this request's; the others ride along.
    const mine = new Map<string, number>();
    const borrowed = new Map<string, Promise<Float32Array>>();
    hex.forEach((h, i) => {
      if (cached.has(h) || mine.has(h) || borrowed.has(h)) return;
      const flying = this.#inFlight.get(h);
      if (flying) borrowed.set(h, flying);
      else mine.set(h, i);
    });
    onPlan?.({ cached: hex.filter((h) => cached.has(h)).length, borrowed: borrowed.size, misses: mine.size });
    const fresh = new Map<string, Promise<Float32Array>>();
    let tokens = 0;
    let retries = 0;
    let written: Promise<void> = Promise.resolve();
    if (mine.size > 0) {
      const order = [...mine.values()];
      const missTexts = order.map((i) => texts[i]!);
      const ids = order.map((i) => r.inputs[i]);
      const send: EmbedOptions = {
        inputType: r.inputType,
        ...callOpts,
        ...(r.tokenCounts ? { tokenCounts: order.map((i) => r.tokenCounts![i]!) } : {}),
        ...(ids.some((x) => typeof x !== 'string') ? { tokenIds: ids.map((x) => (typeof x === 'string' ? undefined : x)) } : {}),
      };
      // Admission (a budget hold) runs inside the flight, so requests riding on it share its answer.
      const call = (admit ? admit(order) : Promise.resolve()).then(() => provider.embed(missTexts, send));
      written = call.then((res) => this.#cache(mv.id, order.map((i, j) => ({ inputHash: keys[i]!, vector: res.vectors[j]! }))));
      written.catch(() => undefined); // the caller's to await
      order.forEach((i, j) => {
        const one = call.then((res) => res.vectors[j]!);
        one.catch(() => undefined); // awaited through `call` here, and by whoever borrows it
        fresh.set(hex[i]!, one);
        this.#inFlight.set(hex[i]!, one);
      });
      // In flight until cached: a request after the answer but before the commit borrows, not misses.
      const land = () => {
        for (const h of mine.keys()) if (this.#inFlight.get(h) === fresh.get(h)) this.#inFlight.delete(h);
      };
      try {
        ({ tokens, retries } = await call);
      } catch (e) {
        land();
        throw e;
      }
      written.then(land, land);
    }
    const vectors = await Promise.all(hex.map((h) => cached.get(h) ?? fresh.get(h) ?? borrowed.get(h)!));
    // Every input this request did not send to the provider cost it nothing.
    return { vectors, hits: hex.length - mine.size, sent: [...mine.values()], tokens, retries, written };
  }

  #cache(modelVersionId: number, rows: CacheWrite['rows']): Promise<void> {
    return new Promise((resolve, reject) => this.#writes.add({ modelVersionId, rows, done: (e) => (e === undefined ? resolve() : reject(e)) }));
  }

  /** Together per model version; a statement that fails is tried again per request, so each gets its own answer. */
  #write(ws: CacheWrite[]): void {
    const alone = (w: CacheWrite) => void addToCache(this.#writeDb, w.modelVersionId, w.rows).then(() => w.done(), (e: unknown) => w.done(e ?? new Error('cache write failed')));
    for (const [mv, group] of Map.groupBy(ws, (w) => w.modelVersionId))
      togetherOrAlone(group, {
        together: (g) => addToCache(this.#writeDb, mv, g.flatMap((w) => w.rows)).then(() => g.forEach((w) => w.done())),
        alone,
        fail: (w, e) => w.done(e),
      });
  }
}
