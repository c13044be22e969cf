/**
 * The online half: `POST /v1/embeddings` and `GET /v1/models` for tenants' virtual keys, on the
 * cache and ledger batch indexing uses. HTTP-free: the server (src/server/gateway-api.ts) hands
 * in the request's headers and parsed body and sends back the {@link GatewayReply}.
 *
 * A request: key → body → model (alias, allow-list, size) → inputs (token ids decoded only with
 * the model's own tokenizer; each within its token limit) → the cache and the provider
 * (cache-embed.ts) → one ledger row for the request beside its provider attempts → the answer,
 * with headers that say what served it and what it cost.
 */
import { inSpan, TRACEPARENT } from '../telemetry.ts';
import { randomUUID } from 'node:crypto';
import type { Config } from '../config/schema.ts';
import { normalizeText } from '../corpus/normalize.ts';
import { tokenizerFor, type Tokenizer } from '../corpus/tokenizer.ts';
import { ProviderError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { attemptLedger } from '../pipeline/attempt-ledger.ts';
import { listModels } from '../providers/models.ts';
import type { ProviderPool } from '../providers/pool.ts';
import type { RedisRateLimiter } from '../providers/rate-limiter.ts';
import { releaseBudget, reserveBudget, tenantHasBudget } from '../store/budgets.ts';
import type { Db, Queryable } from '../store/db.ts';
import { Pipeline } from '../store/pipeline.ts';
import type { ApiKey } from '../store/keys.ts';
import { recordLedger, type RequestStatus } from '../store/ledger.ts';
import { redactUrls } from '../config/redact.ts';
import { CacheEmbedder } from './cache-embed.ts';
import { authenticate, hashSecret, mayUse, type KeyRefusal } from './keys.ts';
import { GatewayModels, type GatewayModel } from './models.ts';
import { encodeEmbeddingsResponse, parseEmbeddingsRequest, WireError, type EmbeddingsRequest } from './wire.ts';

export interface GatewayReply {
  status: number;
  headers: Record<string, string>;
  /** JSON text. */
  body: string;
}

export interface GatewayRequest {
  /** The `Authorization` header. */
  authorization: string | undefined;
  /** The parsed JSON body (the server refuses what is not JSON). */
  body: unknown;
  signal?: AbortSignal;
  /** The caller's W3C `traceparent` header: the request's span continues that trace. */
  traceparent?: string | undefined;
}

export interface GatewayDeps {
  db: Db;
  config: Config;
  providers: ProviderPool;
  logger: Logger;
  /** Keys' rpm/tpm windows, in Redis: shared by every serve process. */
  limiter: RedisRateLimiter;
  /** `serve --no-auth` (loopback only): a request without a key counts for this tenant. */
  noAuthTenant?: string;
  /**
   * A pool with `synchronous_commit=off`, for the writes after a provider answered: settles, cache
   * rows, the request row, budget releases (@default db). Each attempt's `sent` row is written on
   * `db` and flushed before the send, so a Postgres crash that loses a later write leaves the
   * ledger at "possibly billed", never short; a lost cache row costs one re-embed.
   */
  relaxedDb?: Db;
}

/** How long a budget hold outlives a process that died holding it: longer than any request with its retries. */
const BUDGET_HOLD_MS = 10 * 60_000;

const REFUSALS: Record<KeyRefusal, string> = {
  missing: 'No API key provided. Send your embedq key as `Authorization: Bearer eq_…`; create one with `embedq keys create --tenant <id>`.',
  unknown: 'Incorrect API key provided. embedq keys start with eq_; `embedq keys list` shows the prefixes of the valid ones.',
  revoked: 'This API key was revoked.',
  expired: 'This API key has expired.',
};

/** Kinds whose catalogue tokenizer is the model's own, so token ids can be read and input lengths checked exactly. */
const OWN_TOKENIZER = new Set(['openai', 'azure-openai', 'local']);
/** Kinds whose API takes token ids: ids that encode no text go to them as they are. */
const TAKES_TOKEN_IDS = new Set(['openai', 'azure-openai']);

/** Keys remembered as hints (see Gateway#embeddings); the oldest goes first beyond this. */
const MAX_HINTS = 10_000;

/** What a key decides about a request: a hint is good while its row still says all of it. */
const sameKey = (a: ApiKey, b: ApiKey) => a.id === b.id && a.tenant === b.tenant && a.rpm === b.rpm && a.tpm === b.tpm && JSON.stringify(a.models) === JSON.stringify(b.models);

/** A hint turned out stale before anything was sent: the request starts again on the key's row. */
class StaleHint extends Error {}

const usd = (x: number) => x.toFixed(8).replace(/0+$/, '').replace(/\.$/, '');

export class Gateway {
  readonly #deps: GatewayDeps;
  readonly #models: GatewayModels;
  readonly #embedder: CacheEmbedder;
  readonly #tokenizers = new Map<string, Tokenizer>();
  /** The last key row each secret (by its hash) opened. Only a hint: every request reads the row again. */
  readonly #hints = new Map<string, ApiKey>();
  /** The single statements of concurrent requests, a round trip per event-loop turn (src/store/pipeline.ts). */
  readonly #db: Queryable;
  readonly #relaxed: Queryable;
  #inFlight = 0;

  /** Requests being answered now (for /metrics). */
  get inFlight(): number {
    return this.#inFlight;
  }

  constructor(deps: GatewayDeps) {
    this.#deps = deps;
    this.#db = new Pipeline(deps.db);
    this.#relaxed = deps.relaxedDb ? new Pipeline(deps.relaxedDb) : this.#db;
    this.#models = new GatewayModels(deps.db, deps.config, deps.logger);
    // Cache rows carry binary vectors, which a pipeline cannot inline: they go to the pool itself.
    this.#embedder = new CacheEmbedder(this.#db, deps.providers, deps.relaxedDb ?? deps.db);
  }

  /** The key a request's `Authorization` header opens. @throws WireError 401 */
  async authorize(authorization: string | undefined): Promise<ApiKey> {
    return this.#authorize(authorization).key;
  }

  /**
   * Reads the key row for the header's secret (the statement goes out now) and, with it, the
   * row that secret opened last time, if any: a hint whose tenant lets the cache lookup go in
   * the same round trip (see #embeddings).
   */
  #authorize(authorization: string | undefined): { key: Promise<ApiKey>; hint?: ApiKey } {
    const secret = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '')?.[1];
    const open = this.#deps.noAuthTenant;
    // Without auth, any presented key is ignored (clients send one anyway): every request is the default tenant's.
    if (open) return { key: Promise.resolve({ id: '', tenant: open, name: 'no-auth', prefix: '(no auth)', models: null, rpm: null, tpm: null, expiresAt: null, revokedAt: null, previousValidUntil: null, createdAt: new Date(0) }) };
    // Hashed once: the hint's key and the key row's lookup.
    const hash = secret ? hashSecret(secret) : undefined;
    const id = hash?.toString('hex');
    const key = authenticate(this.#db, secret, new Date(), hash).then((r) => {
      if (id) this.#hints.delete(id);
      if ('refused' in r) throw new WireError(401, REFUSALS[r.refused], { code: r.refused === 'missing' ? 'missing_api_key' : 'invalid_api_key' });
      if (id) {
        this.#hints.set(id, r.key);
        if (this.#hints.size > MAX_HINTS) this.#hints.delete(this.#hints.keys().next().value!);
      }
      return r.key;
    });
    key.catch(() => undefined); // awaited by the caller, or only when a hint decided something
    const hint = id ? this.#hints.get(id) : undefined;
    return hint ? { key, hint } : { key };
  }

  /** `POST /v1/embeddings`. Never throws: every failure is an OpenAI error envelope. */
  async embeddings(req: GatewayRequest): Promise<GatewayReply> {
    this.#inFlight++;
    try {
      // One trace per request (continuing the caller's when it sent a valid traceparent); its provider attempts are children.
      const parent = req.traceparent && TRACEPARENT.test(req.traceparent) ? req.traceparent : null;
      return await inSpan('POST /v1/embeddings', { parent, kind: 'server', attributes: { 'http.request.method': 'POST', 'http.route': '/v1/embeddings', 'embedq.mode': 'online' } }, async (span) => {
        const reply = await this.#embeddings(req);
        const h = reply.headers;
        const num = (v: string | undefined) => (v === undefined ? undefined : Number(v));
        // x-embedq-cache-hits reads "hits/inputs".
        const hits = h['x-embedq-cache-hits']?.split('/');
        span.set({
          'http.response.status_code': reply.status,
          'embedq.model_version': h['x-embedq-model-version'],
          'embedq.deployment': h['x-embedq-deployment'],
          'embedq.cache_hits': num(hits?.[0]),
          'embedq.inputs': num(hits?.[1]),
          'embedq.cost_usd': num(h['x-embedq-cost-usd']),
        });
        if (reply.status >= 500) span.fail(new Error(`HTTP ${reply.status}`), String(reply.status));
        return reply;
      });
    } finally {
      this.#inFlight--;
    }
  }

  /**
   * The key's row is read on every request. When the secret opened a key before, that key (the
   * hint) stands in for the row until it arrives: the cache lookup under its tenant and the budget
   * probe go out in the key lookup's round trip, and the row is checked against the hint before
   * anything else is decided or sent (`before`). A hint the row contradicts (revoked, expired, new
   * limits or models) costs the request one restart on the row; an error decided on a hint stands
   * only if the row agrees.
   */
  async #embeddings(req: GatewayRequest, useHint = true): Promise<GatewayReply> {
    const requestId = `req_${randomUUID().replaceAll('-', '')}`;
    const started = performance.now();
    const headers: Record<string, string> = { 'x-request-id': requestId };
    let key: ApiKey | undefined;
    let model: GatewayModel | undefined;
    let parsed: EmbeddingsRequest | undefined;
    const auth = this.#authorize(req.authorization);
    const hint = useHint ? auth.hint : undefined;
    let confirmed = !hint;
    const confirm = async () => {
      if (confirmed) return;
      const row = await auth.key;
      if (!sameKey(row, hint!)) throw new StaleHint();
      confirmed = true;
    };
    try {
      key = hint ?? (await auth.key);
      parsed = parseEmbeddingsRequest(req.body);
      model = await this.#models.resolve(parsed.model, parsed.dimensions, key.tenant);
      if (!mayUse(key, parsed.model, model.id)) throw new WireError(403, `This key may not use the model '${parsed.model}'; it may use ${key.models!.join(', ')}.`, { param: 'model', code: 'model_not_allowed' });
      const { inputs, tokens } = this.#inputs(parsed, model);
      const k = key;
      const budgeted = tenantHasBudget(this.#db, k.tenant);
      budgeted.catch(() => undefined); // awaited before a miss is sent; unused when every input hits
      return await this.#serve(k, model, parsed, inputs, tokens, headers, started, req.signal, {
        before: async () => {
          await confirm();
          await this.#admit(k, tokens, headers);
        },
        budgeted,
      });
    } catch (e) {
      if (!confirmed) {
        // Decided on the hint alone: only the row may say so.
        const stands = await confirm().then(
          () => true,
          () => false,
        );
        if (!stands) return this.#embeddings(req, false);
      }
      // A client that hung up is not a failure of ours or the provider's: 499, as proxies log it.
      const err = req.signal?.aborted ? new WireError(499, 'The client closed the request before the answer was ready.', { code: 'client_closed_request' }) : this.#wireError(e);
      Object.assign(headers, err.headers);
      if (key && model && parsed) await this.#recordRequest(key, model, parsed, err.status >= 500 ? 'failed' : 'refused', err.status, { inputs: parsed.inputs.length, hits: 0, tokens: 0, costUsd: 0, savedUsd: 0, started, error: err.message });
      else this.#deps.logger.info({ requestId, status: err.status, code: err.code }, 'gateway request refused');
      return { status: err.status, headers, body: JSON.stringify(err.body()) };
    }
  }

  /**
   * The inputs and their token counts (counted once, here, for the length check, the key's tpm,
   * the budget hold, the provider's packing and the saved cost). Token ids that are the encoding of
   * a text become that text, so they share its cache entry; ids that encode no text (a cut inside
   * a character, a split the tokenizer would not make) go as they are to a model that takes ids,
   * and are a 400 for any other. Lengths are checked where the tokenizer is exact.
   */
  #inputs(r: EmbeddingsRequest, m: GatewayModel): { inputs: (string | number[])[]; tokens: number[] } {
    const { spec } = m.resolved;
    const own = OWN_TOKENIZER.has(spec.kind);
    const tok = this.#tokenizer(spec.tokenizer);
    const tokens: number[] = [];
    const inputs = r.inputs.map((input, i): string | number[] => {
      const param = r.inputs.length === 1 ? 'input' : `input[${i}]`;
      if ('tokens' in input) {
        if (!own || !tok.decode)
          throw new WireError(400, `${m.id} does not take token ids: embedq does not know its tokenizer, and decoding them with another model's would change the text. Send the text instead.`, { param, code: 'unsupported_input' });
        if (input.tokens.length > spec.maxInputTokens) throw this.#tooLong(param, input.tokens.length, m);
        tokens.push(input.tokens.length);
        const decoded = tok.decode(input.tokens);
        // The text, where it is what the provider would be sent anyway (normalization keeps it).
        if (decoded !== undefined && normalizeText(decoded) === decoded) return decoded;
        if (TAKES_TOKEN_IDS.has(spec.kind)) return input.tokens;
        if (decoded !== undefined) return decoded;
        throw new WireError(400, `${param} is not a valid ${tok.name} encoding: an id outside the vocabulary, or ids that are not the encoding of any text, and ${m.id} takes text only.`, { param, code: 'invalid_tokens' });
      }
      // Counted as the provider will be sent it.
      const text = normalizeText(input.text);
      if (text.length === 0) throw new WireError(400, `${param} is only whitespace; every input must have some text`, { param, code: 'empty_input' });
      const n = tok.count(text);
      if (own && n > spec.maxInputTokens) throw this.#tooLong(param, n, m);
      tokens.push(n);
      return text;
    });
    return { inputs, tokens };
  }

  /** The key's rpm and tpm (every input's tokens), across serve processes; sets the x-ratelimit-* headers. @throws WireError 429 */
  async #admit(key: ApiKey, counts: readonly number[], headers: Record<string, string>): Promise<void> {
    if (key.rpm === null && key.tpm === null) return;
    const tokens = counts.reduce((a, b) => a + b, 0);
    const a = await this.#deps.limiter.admit({ provider: 'gateway-key', model: key.id }, tokens, { rpm: key.rpm, tpm: key.tpm });
    const secs = (ms: number) => `${Math.max(1, Math.ceil(ms / 1000))}s`;
    if (key.rpm !== null) Object.assign(headers, { 'x-ratelimit-limit-requests': String(key.rpm), 'x-ratelimit-remaining-requests': String(Math.max(0, key.rpm - a.usedRequests)) });
    if (key.tpm !== null) Object.assign(headers, { 'x-ratelimit-limit-tokens': String(key.tpm), 'x-ratelimit-remaining-tokens': String(Math.max(0, key.tpm - a.usedTokens)) });
    if (a.admitted) {
      if (key.rpm !== null) headers['x-ratelimit-reset-requests'] = secs(a.resetMs);
      if (key.tpm !== null) headers['x-ratelimit-reset-tokens'] = secs(a.resetMs);
      return;
    }
    if (a.retryAfterMs === null)
      throw new WireError(429, `This request has ${tokens} tokens, more than this key's whole limit of ${key.tpm} tokens per minute; split it.`, { type: 'requests', code: 'rate_limit_exceeded', headers: { 'x-embedq-limit-kind': 'tpm' } });
    const wait = Math.max(1, Math.ceil(a.retryAfterMs / 1000));
    const what = a.limit === 'rpm' ? `${key.rpm} requests per minute` : `${key.tpm} tokens per minute`;
    throw new WireError(429, `Rate limit reached for this key: ${what}. Try again in ${wait}s.`, {
      type: a.limit === 'rpm' ? 'requests' : 'tokens',
      code: 'rate_limit_exceeded',
      headers: { 'retry-after': String(wait), 'retry-after-ms': String(a.retryAfterMs), 'x-embedq-limit-kind': a.limit, [`x-ratelimit-reset-${a.limit === 'rpm' ? 'requests' : 'tokens'}`]: `${wait}s` },
    });
  }

  /**
   * Holds the misses' exact cost against the tenant's budget (the batch path's budget too) before
   * the provider is called, or refuses the request as OpenAI refuses an exhausted quota.
   */
  async #holdBudget(key: ApiKey, m: GatewayModel, tokens: number, holds: string[], budgeted: Promise<boolean>): Promise<void> {
    const { spec } = m.resolved;
    const { check, id } = await reserveBudget(this.#deps.db, key.tenant, tokens, (tokens / 1e6) * spec.priceSyncPerMTok, BUDGET_HOLD_MS, { budgeted: await budgeted });
    if (id) holds.push(id);
    if (check.ok) return;
    const wait = Math.max(1, Math.ceil((check.resetsAt!.getTime() - Date.now()) / 1000));
    throw new WireError(429, `You exceeded your budget: ${check.reason}. It resets at ${check.resetsAt!.toISOString()}.`, {
      type: 'insufficient_quota',
      code: 'insufficient_quota',
      headers: { 'retry-after': String(wait), 'x-embedq-limit-kind': 'budget' },
    });
  }

  #tooLong(param: string, tokens: number, m: GatewayModel): WireError {
    return new WireError(400, `${param} has ${tokens} tokens; ${m.id} takes at most ${m.resolved.spec.maxInputTokens} per input. Shorten or split it.`, { param, code: 'context_length_exceeded' });
  }

  #tokenizer(name: string): Tokenizer {
    let t = this.#tokenizers.get(name);
    if (!t) this.#tokenizers.set(name, (t = tokenizerFor(name)));
    return t;
  }

  async #serve(
    key: ApiKey,
    model: GatewayModel,
    r: EmbeddingsRequest,
    inputs: (string | number[])[],
    counts: readonly number[],
    headers: Record<string, string>,
    started: number,
    signal: AbortSignal | undefined,
    pre: { before: () => Promise<void>; budgeted: Promise<boolean> },
  ): Promise<GatewayReply> {
    const { spec } = model.resolved;
    const ledger = attemptLedger(this.#db, { tenant: key.tenant, provider: spec.provider, modelVersionId: model.modelVersionId, mode: 'online', jobId: null, runId: null, apiKeyId: key.id || null, endUser: r.user ?? null }, spec.priceSyncPerMTok, this.#relaxed);
    let deployment: string | undefined;
    const holds: string[] = [];
    // The hold goes once the attempts it stood for are in the ledger.
    const settle = async () => {
      await ledger.settled();
      await Promise.all(holds.map((id) => releaseBudget(this.#relaxed, id)));
    };
    let res: Awaited<ReturnType<CacheEmbedder['embed']>>;
    try {
      res = await this.#embedder.embed(
        { tenant: key.tenant, modelVersionId: model.modelVersionId, inputs, tokenCounts: counts, inputType: r.inputType },
        {
          before: pre.before,
          admit: (misses) => this.#holdBudget(key, model, misses.reduce((sum, i) => sum + counts[i]!, 0), holds, pre.budgeted),
          onSend: ledger.onSend,
          onCall: (c) => {
            if (c.status === 'ok') deployment = c.deployment ?? spec.provider;
            ledger.onCall(c);
          },
          ...(signal ? { signal } : {}),
        },
      );
    } catch (e) {
      await settle();
      throw e;
    }
    const costUsd = (res.tokens / 1e6) * spec.priceSyncPerMTok;
    // What the hits would have cost: their tokens by the model's tokenizer (an estimate where it is not the provider's own).
    const sent = new Set(res.sent);
    const hitTokens = counts.reduce((sum, n, i) => (sent.has(i) ? sum : sum + n), 0);
    const savedUsd = (hitTokens / 1e6) * spec.priceSyncPerMTok;
    // Independent writes, side by side: the new cache rows, the settles and the request's own row.
    // A cache row that could not be written costs a re-embed later; the vectors are paid for and good.
    const cached = res.written.catch((err: unknown) => this.#deps.logger.warn({ err }, 'gateway: could not cache the new vectors'));
    await Promise.all([cached, settle(), this.#recordRequest(key, model, r, 'served', 200, { inputs: inputs.length, hits: res.hits, tokens: res.tokens, costUsd, savedUsd, started, deployment })]);
    Object.assign(headers, {
      'content-type': 'application/json',
      'x-embedq-model-version': model.resolved.key,
      'x-embedq-provider': spec.provider,
      'x-embedq-deployment': deployment ?? (res.sent.length === 0 ? 'cache' : spec.provider),
      'x-embedq-cache-hits': `${res.hits}/${inputs.length}`,
      'x-embedq-cost-usd': usd(costUsd),
      'x-embedq-saved-usd': usd(savedUsd),
      'x-embedq-retries': String(res.retries),
    });
    return { status: 200, headers, body: encodeEmbeddingsResponse(res.vectors, r.encoding, r.model, res.tokens) };
  }

  async #recordRequest(
    key: ApiKey,
    model: GatewayModel,
    r: EmbeddingsRequest,
    status: RequestStatus,
    httpStatus: number,
    o: { inputs: number; hits: number; tokens: number; costUsd: number; savedUsd: number; started: number; deployment?: string | undefined; error?: string },
  ): Promise<void> {
    await recordLedger(this.#relaxed, [
      {
        tenant: key.tenant,
        provider: model.resolved.spec.provider,
        modelVersionId: model.modelVersionId,
        mode: 'online',
        status,
        inputs: o.inputs,
        tokens: o.tokens,
        costUsd: o.costUsd,
        savedUsd: o.savedUsd,
        latencyMs: Math.round(performance.now() - o.started),
        httpStatus,
        error: o.error ?? null,
        deployment: o.deployment ?? null,
        apiKeyId: key.id || null,
        endUser: r.user ?? null,
        cacheHits: o.hits,
      },
    ]);
  }

  /** Any failure as the error a client gets: ours as they are; the provider's as 502/503/504 (or 400 for input it refused); anything else a 500 whose details stay in the log. */
  #wireError(e: unknown): WireError {
    if (e instanceof WireError) return e;
    if (e instanceof ProviderError) {
      const message = redactUrls(e.message);
      if (e.outcomeUnknown) return new WireError(504, `The provider did not answer in time: ${message}`, { type: 'api_error', code: 'upstream_timeout' });
      if (e.status === 429 || e.status === 503)
        return new WireError(503, `The provider is overloaded or rate-limited after retries and failover: ${message}`, {
          type: 'api_error',
          code: 'upstream_unavailable',
          ...(e.retryAfterMs !== undefined ? { headers: { 'retry-after': String(Math.max(1, Math.ceil(e.retryAfterMs / 1000))) } } : {}),
        });
      if (!e.retryable && e.status !== undefined && e.status >= 400 && e.status < 500 && e.status !== 401 && e.status !== 403)
        return new WireError(400, `The provider refused the input: ${message}`, { code: 'provider_rejected_input' });
      return new WireError(502, `The provider failed: ${message}`, { type: 'api_error', code: 'upstream_error' });
    }
    this.#deps.logger.error({ err: e }, 'gateway request failed');
    return new WireError(500, 'Internal error (details are in the server log).', { type: 'api_error', code: 'internal_error' });
  }

  /** `GET /v1/models`: the config's aliases, then every model of the built-in and configured providers (as `embedq models` lists them). */
  modelList(key: ApiKey): { object: 'list'; data: { id: string; object: 'model'; created: number; owned_by: string }[] } {
    const { config } = this.#deps;
    const ids = [...Object.keys(config.aliases).sort(), ...listModels(config.models, config.providers).flatMap((m) => (m.id === null ? [] : [m.id]))];
    const allowed = ids.filter((id) => mayUse(key, id, this.#models.idOf(id)));
    return { object: 'list', data: [...new Set(allowed)].map((id) => this.#modelObject(id)) };
  }

  #modelObject(id: string): { id: string; object: 'model'; created: number; owned_by: string } {
    return { id, object: 'model', created: 0, owned_by: this.#models.idOf(id).split('/')[0]! };
  }

  /** `GET /v1/models/{id}`. @throws WireError 404 (unknown, or not on the key's allow-list) */
  async model(key: ApiKey, id: string): Promise<{ id: string; object: 'model'; created: number; owned_by: string }> {
    const m = await this.#models.resolve(id, undefined, key.tenant);
    if (!mayUse(key, id, m.id)) throw new WireError(404, `The model '${id}' does not exist or this key may not use it.`, { param: 'model', code: 'model_not_found' });
    return this.#modelObject(id);
  }
}
