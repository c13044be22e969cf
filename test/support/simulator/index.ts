/**
 * An in-process provider simulator: a real HTTP server (node:http on 127.0.0.1) speaking
 * OpenAI's `POST /v1/embeddings` wire format, with rate limits (sliding 60 s window, real 429s
 * and `x-ratelimit-*` headers), latency and fault injection; OpenAI's Files and Batch APIs
 * (files.ts, batches.ts); Cohere's v2 embed, datasets and embed jobs under `/cohere`
 * (cohere.ts); Voyage's embeddings and Batch API under `/voyage` (voyage.ts, voyage-batches.ts);
 * Mistral's embeddings and batch jobs under `/mistral` (mistral.ts, mistral-batches.ts); Jina,
 * Gemini and Azure OpenAI under their own prefixes. The batch APIs share one lifecycle, the
 * dialects differ (batches.ts, `BatchDialect`). Routes live in one table keyed by
 * `METHOD /path` (`:name` segments are parameters).
 *
 *   const sim = await startSimulator({ rpm: 60 });
 *   new OpenAI({ baseURL: sim.url, apiKey: 'x' });  // sim.url ends in /v1
 *   new CohereClientV2({ token: 'x', environment: sim.cohereUrl });
 *   sim.failNext(2, '500'); sim.set({ batchFailFraction: 0.1 }); sim.stats(); await sim.close();
 *
 * Standalone (benchmarks, multi-process tests), printing `{"url":…,"cohereUrl":…,"port":…}` on
 * stdout and controlled through GET /_sim/stats and POST /_sim/set | /_sim/fail-next | /_sim/reset
 * (every knob, batch and Cohere ones included, is settable through /_sim/set):
 *
 *   node test/support/simulator/index.ts --port 0 [--latency-ms 20] [--rpm 3000] [--tpm 1000000]
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { AZURE_PREFIX, azureError, createAzureApi, DEFAULT_AZURE_KNOBS, type AzureKnobs } from './azure.ts';
import { createBatchApi, DEFAULT_BATCH_KNOBS, type BatchKnobs, type BatchStats } from './batches.ts';
import { createCohereApi, DEFAULT_COHERE_KNOBS, type CohereKnobs, type CohereStats } from './cohere.ts';
import { cohereError } from './cohere-models.ts';
import { createGeminiApi, GEMINI_PREFIX, googleError } from './gemini.ts';
import { createJinaApi, jinaRouterError } from './jina.ts';
import { createMistralApi, MISTRAL_PREFIX, mistralError } from './mistral.ts';
import { createMistralBatchApi } from './mistral-batches.ts';
import { createRateWindow } from './rate-window.ts';
import { createVoyageApi, VOYAGE_PREFIX, voyageError } from './voyage.ts';
import { createVoyageBatchApi } from './voyage-batches.ts';
import { apiError, embeddingsResponse, OPENAI_MODELS, parseEmbeddingsRequest, type SimModel } from './embeddings.ts';
import { DEFAULT_FILE_KNOBS, type FileKnobs } from './files.ts';
import { awaitFirstChunk, matchRoute, parseBody, UNPARSABLE } from './http.ts';
import { createInterceptQueue, type Intercepted, type Interceptor } from './intercept.ts';
import type { FaultKind, Route, SimLogEntry, SimReply, SimState } from './route-types.ts';
import { createFaultSchedule, type FaultPlan, type FaultSchedule } from './faults.ts';
import { holdAfter, manualClock, type ManualClock, type RequestGate } from './clock.ts';

export type { FaultKind, ManualClock, RequestGate, Route, SimLogEntry, SimReply, SimState };

/** Settable at start and at run time (batch, file and Cohere knobs: see their modules). */
export interface SimulatorKnobs extends BatchKnobs, FileKnobs, CohereKnobs, AzureKnobs {
  /** Delay before every response. @default 0 */
  latencyMs: number;
  /** Requests per minute; 0 = unlimited (and no request headers). @default 0 */
  rpm: number;
  /** Tokens per minute; 0 = unlimited (and no token headers). @default 0 */
  tpm: number;
  /** Chance that a request fails with one of `faultKinds`. @default 0 */
  faultRate: number;
  /** @default ['500', '429'] */
  faultKinds: FaultKind[];
  /** Wait announced by injected 429s. @default 250 */
  retryAfterMs: number;
  /** An allow-list of served models; when set, other models get 404 model_not_found. @default undefined (OpenAI's three, any other name at `defaultDims`) */
  models: Record<string, SimModel> | undefined;
  /** Native size of models outside the known list. @default 1536 */
  defaultDims: number;
}

export interface SimulatorOptions extends Partial<SimulatorKnobs> {
  /** @default 0 (any free port) */
  port?: number;
  /** @default 127.0.0.1 */
  host?: string;
  /** When set, requests must carry `Authorization: Bearer <apiKey>` (the 401 echoes the wrong key, so tests can prove we redact it). */
  apiKey?: string;
  /** Tokens of one input. @default ceil(UTF-8 bytes / 4), roughly cl100k_base on English */
  countTokens?: (text: string) => number;
  /** Faults by request number (faults.ts); none unless given. */
  schedule?: FaultPlan;
}

export interface SimulatorStats {
  requests: number;
  /** Inputs and tokens of requests answered 200. */
  inputs: number;
  tokens: number;
  /** Responses by status (`timeout` for held requests, `reset` for dropped uploads). */
  byStatus: Record<string, number>;
  /** The last 10,000 requests, oldest first. */
  log: SimLogEntry[];
  /** Files and batches; present once either API was used since the last reset. */
  batch?: BatchStats;
  /** Voyage's files and batches (voyage-batches.ts); present once used since the last reset. */
  voyageBatch?: BatchStats;
  /** Mistral's files and batch jobs (mistral-batches.ts); present once used since the last reset. */
  mistralBatch?: BatchStats;
  /** Cohere (its /v2/embed inputs and tokens also count above); present once used since the last reset. */
  cohere?: CohereStats;
}

export interface SimRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  /** Parsed JSON, a `SimForm` for multipart bodies, or undefined. */
  body: unknown;
  /** Values of the route's `:name` segments. */
  params: Record<string, string>;
  query: URLSearchParams;
  /** `http://host:port` as the client addressed us (for URLs we hand out). */
  origin: string;
}

export interface Simulator {
  /** Base URL ending in `/v1`. */
  readonly url: string;
  /** Base URL for the cohere-ai SDK (`environment` or `baseUrl`), ending in `/cohere`. */
  readonly cohereUrl: string;
  /** Base URL for @google/genai (`httpOptions.baseUrl`, with `apiVersion: 'v1beta'`), ending in `/gemini`. */
  readonly geminiUrl: string;
  /** Base URL standing for https://api.jina.ai/v1, ending in `/jina/v1`. */
  readonly jinaUrl: string;
  /** Base URL for the voyageai SDK (`baseUrl`), ending in `/voyage/v1`. */
  readonly voyageUrl: string;
  /** `serverURL` for the @mistralai/mistralai SDK, ending in `/mistral`. */
  readonly mistralUrl: string;
  /** The SDK's AzureOpenAI `baseURL` (an endpoint's `/openai`; azure.ts), ending in `/openai`. */
  readonly azureUrl: string;
  readonly port: number;
  /** The fault schedule, when started with one: its counters and `onRequest`. */
  readonly faults: FaultSchedule | undefined;
  stats(): SimulatorStats;
  set(knobs: Partial<SimulatorKnobs>): void;
  /** The next `n` embeddings requests fail with `kind`. */
  failNext(n: number, kind: FaultKind): void;
  /** The next request to `path` is answered by `fn` (intercept.ts). @default path /v1/embeddings */
  intercept(fn: Interceptor, path?: string): Intercepted;
  /**
   * Holds every `POST /v1/embeddings` request until `release()` (then answers them as usual):
   * `arrived(n)` resolves once `n` requests are held. For tests that need work in flight.
   */
  hold(): { arrived(n: number): Promise<void>; release(): void };
  /**
   * Stops the lifecycle clock of batches, Cohere datasets and embed jobs (statuses are evaluated
   * when read): from now on it moves only by `tick(ms)`, so a test steps through every status
   * instead of racing a poll against a timer. `reset()` gives back the real clock.
   */
  manualClock(): ManualClock;
  /**
   * Answers the next `n` embeddings requests, then holds every later one unanswered until
   * `release()`; `held` resolves when the first request is held. A test acts at "after the n-th
   * request" (kill a worker, look at a run in flight) instead of guessing a moment.
   */
  holdAfter(n: number): RequestGate;
  /** Zeroes counters, forgets queued faults, the rate window, files, batches, datasets and jobs. */
  reset(): void;
  close(): Promise<void>;
}

const DEFAULT_KNOBS: SimulatorKnobs = {
  ...{ latencyMs: 0, rpm: 0, tpm: 0, faultRate: 0, faultKinds: ['500', '429'], retryAfterMs: 250, models: undefined, defaultDims: 1536 },
  ...DEFAULT_BATCH_KNOBS,
  ...DEFAULT_FILE_KNOBS,
  ...DEFAULT_COHERE_KNOBS,
  ...DEFAULT_AZURE_KNOBS,
};
const LOG_LIMIT = 10_000;

const FAULTS: Record<FaultKind, (state: SimState) => SimReply> = {
  '500': () => apiError(500, 'The server had an error while processing your request. Sorry about that!', 'server_error'),
  '503': () => apiError(503, 'The engine is currently overloaded, please try again later.', 'server_error'),
  '429': (s) => ({
    ...apiError(429, `Rate limit reached for requests. Please try again in ${(s.knobs.retryAfterMs / 1000).toFixed(3)}s.`, 'requests', 'rate_limit_exceeded'),
    headers: { 'retry-after': String(Math.ceil(s.knobs.retryAfterMs / 1000)), 'retry-after-ms': String(s.knobs.retryAfterMs) },
  }),
  quota: () => apiError(429, 'You exceeded your current quota, please check your plan and billing details.', 'insufficient_quota', 'insufficient_quota'),
  timeout: () => ({ status: 0, hold: true }),
  malformed: () => ({ status: 200, raw: '{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.1,' }),
  'wrong-dims': () => ({ status: 200 }), // answered by the embeddings route with half-size vectors
};

const embeddings: Route = async (req, state) => {
  await state.gate?.();
  const parsed = parseEmbeddingsRequest(req.body, state);
  if ('status' in parsed) return parsed;
  const tokens = parsed.tokens.reduce((a, t) => a + t, 0);
  const log = { model: parsed.model, inputs: parsed.inputs.length, ...(parsed.tokenInputs ? { tokenInputs: parsed.tokenInputs } : {}), tokens, encoding: parsed.encoding, ...(parsed.dimensions ? { dimensions: parsed.dimensions } : {}) };
  const planned = state.schedule?.take(parsed.inputs.length);
  if (planned?.reply) return { ...planned.reply, log: { ...log, scheduled: planned.kind } };
  const fault = state.takeFault();
  if (fault && fault !== 'wrong-dims') return { ...FAULTS[fault](state), log: { ...log, fault } };
  const limited = state.window.admit(tokens, parsed.model);
  if (limited) return { ...limited, log };
  const dims = fault === 'wrong-dims' ? Math.max(1, Math.floor((parsed.dimensions ?? parsed.served.dims) / 2)) : undefined;
  const late = planned ? { delayMs: planned.delayMs, ...(planned.cut ? { cutAt: 0.5 } : {}), log: { ...log, scheduled: planned.kind } } : {};
  return { status: 200, body: embeddingsResponse(state, parsed, dims), headers: state.window.headers(), log: fault ? { ...log, fault } : log, ...late };
};

const listModels: Route = (_req, state) => ({
  status: 200,
  body: { object: 'list', data: Object.keys(state.knobs.models ?? OPENAI_MODELS).map((id) => ({ id, object: 'model', created: 0, owned_by: 'simulator' })) },
});

/** Path prefix of each non-OpenAI API, and the error body it answers with. */
const ROUTER_ERRORS: readonly [prefix: string, error: (status: number, message: string) => SimReply][] = [
  ['/cohere/', cohereError],
  [GEMINI_PREFIX, googleError],
  ['/jina/', jinaRouterError],
  [`${VOYAGE_PREFIX}/`, voyageError],
  [`${MISTRAL_PREFIX}/`, (status, message) => mistralError(status, message, status === 401 ? 'authentication_error' : 'invalid_request_error')],
  [AZURE_PREFIX, azureError],
];

/** Starts a simulator; `close()` it when done. */
export async function startSimulator(opts: SimulatorOptions = {}): Promise<Simulator> {
  const knobs: SimulatorKnobs = { ...DEFAULT_KNOBS };
  const set = (k: Partial<SimulatorKnobs>) => {
    for (const [key, v] of Object.entries(k)) if (v !== undefined || key === 'models') (knobs as unknown as Record<string, unknown>)[key] = v;
  };
  const { port: _p, host: _h, apiKey, countTokens, schedule, ...initial } = opts;
  set(initial);
  const queued: FaultKind[] = [];
  const intercepts = createInterceptQueue();
  let clock: ManualClock | undefined;
  const state: SimState = {
    now: () => clock?.now() ?? Date.now(),
    knobs,
    countTokens: countTokens ?? ((t) => Math.max(1, Math.ceil(Buffer.byteLength(t, 'utf8') / 4))),
    window: createRateWindow(knobs),
    embedders: new Map(),
    ...(schedule ? { schedule: createFaultSchedule(schedule) } : {}),
    takeFault: () => queued.shift() ?? (knobs.faultRate > 0 && Math.random() < knobs.faultRate ? knobs.faultKinds[Math.floor(Math.random() * knobs.faultKinds.length)] : undefined),
  };
  let stats: SimulatorStats = { requests: 0, inputs: 0, tokens: 0, byStatus: {}, log: [] };
  const cohereApi = createCohereApi(state);
  const geminiApi = createGeminiApi(apiKey);
  // Each provider's files and batches, with the paths that count as using them.
  const batchApis = {
    batch: { api: createBatchApi(state), paths: /^\/v1\/(files|batches)/ },
    voyageBatch: { api: createVoyageBatchApi(state), paths: new RegExp(`^${VOYAGE_PREFIX}/v1/(files|batches)`) },
    mistralBatch: { api: createMistralBatchApi(state), paths: new RegExp(`^${MISTRAL_PREFIX}/v1/(files|batch/)`) },
  } as const;
  type BatchKey = keyof typeof batchApis;
  // Batch and Cohere stats appear once used, so a fresh simulator's stats stay as they always were.
  let used = { cohere: false, batches: new Set<BatchKey>() };
  const snapshot = (): SimulatorStats =>
    structuredClone({ ...stats, ...Object.fromEntries([...used.batches].map((k) => [k, batchApis[k].api.stats()])), ...(used.cohere ? { cohere: cohereApi.stats() } : {}) });
  let gate: { held: number; waiters: { n: number; resolve: () => void }[]; open: Promise<void>; release: () => void } | undefined;
  const control = {
    set,
    hold() {
      let release!: () => void;
      const open = new Promise<void>((r) => (release = r));
      const g = { held: 0, waiters: [] as { n: number; resolve: () => void }[], open, release };
      gate = g;
      return {
        arrived: (n: number) => new Promise<void>((resolve) => (g.held >= n ? resolve() : g.waiters.push({ n, resolve }))),
        release: () => {
          if (gate === g) gate = undefined;
          g.release();
        },
      };
    },
    failNext(n: number, kind: FaultKind) {
      if (!(kind in FAULTS)) throw new Error(`unknown fault kind ${JSON.stringify(kind)}; expected one of ${Object.keys(FAULTS).join(', ')}`);
      for (let i = 0; i < n; i++) queued.push(kind);
    },
    intercept: (fn: Interceptor, path = '/v1/embeddings') => intercepts.add(fn, path),
    manualClock: () => (clock = manualClock()),
    holdAfter: (n: number) => holdAfter(state, n),
    reset() {
      clock = undefined;
      state.gate = undefined;
      stats = { requests: 0, inputs: 0, tokens: 0, byStatus: {}, log: [] };
      queued.length = 0;
      intercepts.clear();
      state.window.clear();
      for (const b of Object.values(batchApis)) b.api.clear();
      cohereApi.clear();
      used = { cohere: false, batches: new Set() };
    },
  };

  const routes: Record<string, Route> = {
    'POST /v1/embeddings': embeddings,
    'GET /v1/models': listModels,
    ...batchApis.batch.api.routes,
    ...batchApis.voyageBatch.api.routes,
    ...batchApis.mistralBatch.api.routes,
    ...cohereApi.routes,
    ...geminiApi.routes,
    ...createJinaApi().routes,
    ...createVoyageApi().routes,
    ...createMistralApi().routes,
    ...createAzureApi(apiKey, embeddings).routes,
    'GET /_sim/stats': () => ({ status: 200, body: snapshot() }),
    'POST /_sim/set': (req) => (control.set(req.body as Partial<SimulatorKnobs>), { status: 200, body: { ok: true } }),
    'POST /_sim/fail-next': (req) => {
      const b = req.body as { n?: number; kind?: FaultKind };
      control.failNext(b.n ?? 1, b.kind ?? '500');
      return { status: 200, body: { ok: true } };
    },
    'POST /_sim/reset': () => (control.reset(), { status: 200, body: { ok: true } }),
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://sim');
    const { pathname: path } = url;
    const method = req.method ?? 'GET';
    const found = matchRoute(routes, method, path);
    const cohere = path.startsWith('/cohere/');
    const mistral = path.startsWith(`${MISTRAL_PREFIX}/`);
    const gemini = path.startsWith(GEMINI_PREFIX);
    const ownKeyCheck = gemini || path.startsWith(AZURE_PREFIX); // x-goog-api-key, api-key
    // Each provider's own error envelope for what the router itself answers (OpenAI's by default).
    const envelope = ROUTER_ERRORS.find(([prefix]) => path.startsWith(prefix))?.[1];
    const isApi = path.startsWith('/v1/') || envelope !== undefined;
    const fail = (status: number, message: string, code: string | null = null) => (envelope ? envelope(status, message) : apiError(status, message, 'invalid_request_error', code));
    let reply: SimReply;
    let reset = false;
    if (found?.route.beforeBody?.(state) === 'reset') {
      await awaitFirstChunk(req);
      reset = true;
      reply = { status: 0 };
    } else {
      const body = await parseBody(req);
      const g = gate;
      if (g && method === 'POST' && path === '/v1/embeddings') {
        g.held++;
        for (const w of g.waiters.filter((x) => g.held >= x.n)) w.resolve();
        await g.open;
      }
      if (!found) reply = fail(404, `Invalid URL (${method} ${path})`);
      else if (body === UNPARSABLE) reply = fail(400, 'We could not parse the JSON body of your request.');
      else if (isApi && !ownKeyCheck && apiKey !== undefined && req.headers.authorization !== `Bearer ${apiKey}`)
        reply = fail(401, cohere ? 'invalid api token' : mistral ? 'Unauthorized' : `Incorrect API key provided: ${req.headers.authorization?.replace(/^Bearer /, '') ?? '(none)'}.`, 'invalid_api_key');
      else {
        const simReq: SimRequest = { method, path, headers: req.headers, body, params: found.params, query: url.searchParams, origin: `http://${req.headers.host}` };
        const next = async () => found.route(simReq, state);
        const intercept = intercepts.take(path);
        reply = await (intercept ? intercept(simReq, state, next) : next());
      }
    }
    if (isApi) {
      used.cohere ||= cohere;
      for (const [k, b] of Object.entries(batchApis)) if (b.paths.test(path)) used.batches.add(k as BatchKey);
      stats.requests++;
      const status = reset ? 'reset' : reply.hold ? 'timeout' : reply.cutAt !== undefined ? 'cut' : reply.status;
      stats.byStatus[String(status)] = (stats.byStatus[String(status)] ?? 0) + 1;
      if (reply.status === 200 && !reply.raw && reply.log) {
        stats.inputs += reply.log.inputs ?? 0;
        stats.tokens += reply.log.tokens ?? 0;
      }
      stats.log.push({ method, path, status, ...reply.log });
      if (stats.log.length > LOG_LIMIT) stats.log.splice(0, stats.log.length - LOG_LIMIT);
    }
    if (reset) return void req.socket.destroy();
    if (reply.hold) return; // the client times out; close() ends the socket
    if (knobs.latencyMs > 0) await delay(knobs.latencyMs);
    if (reply.delayMs) await delay(reply.delayMs);
    if (res.destroyed) return;
    const payload = reply.raw ?? JSON.stringify(reply.body ?? null);
    const bytes = Buffer.from(payload);
    res.writeHead(reply.status, { 'content-type': 'application/json', 'content-length': String(bytes.length), 'x-request-id': `req_sim_${stats.requests}`, ...reply.headers });
    // A body cut off mid-response: part of it, then the connection closes.
    if (reply.cutAt !== undefined) return void res.write(bytes.subarray(0, Math.floor(bytes.length * reply.cutAt)), () => req.socket.destroy());
    res.end(bytes);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: `simulator bug: ${String(e)}`, type: 'server_error', param: null, code: null } }));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    url: `http://${host}:${addr.port}/v1`,
    cohereUrl: `http://${host}:${addr.port}/cohere`,
    geminiUrl: `http://${host}:${addr.port}/gemini`,
    jinaUrl: `http://${host}:${addr.port}/jina/v1`,
    voyageUrl: `http://${host}:${addr.port}${VOYAGE_PREFIX}/v1`,
    mistralUrl: `http://${host}:${addr.port}${MISTRAL_PREFIX}`,
    azureUrl: `http://${host}:${addr.port}/openai`,
    port: addr.port,
    faults: state.schedule,
    stats: snapshot,
    ...control,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { port: { type: 'string', default: '0' }, host: { type: 'string' }, 'latency-ms': { type: 'string' }, rpm: { type: 'string' }, tpm: { type: 'string' }, 'fault-rate': { type: 'string' } },
  });
  const num = (v: string | undefined) => (v === undefined ? undefined : Number(v));
  const sim = await startSimulator({
    port: Number(values.port),
    ...(values.host ? { host: values.host } : {}),
    ...Object.fromEntries(
      Object.entries({ latencyMs: num(values['latency-ms']), rpm: num(values.rpm), tpm: num(values.tpm), faultRate: num(values['fault-rate']) }).filter(([, v]) => v !== undefined),
    ),
  });
  process.stdout.write(`${JSON.stringify({ url: sim.url, cohereUrl: sim.cohereUrl, voyageUrl: sim.voyageUrl, port: sim.port })}\n`);
  const stop = () => void sim.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
