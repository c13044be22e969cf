/**
 * An in-process provider simulator: a real HTTP server (node:http on 127.0.0.1) speaking
 * OpenAI's `POST /v1/embeddings` wire format, with rate limits (sliding 60 s window, real 429s
 * and `x-ratelimit-*` headers), latency and fault injection. Routes live in one table keyed by
 * `METHOD /path`, so later files add /v1/files, /v1/batches and Cohere's endpoints beside it.
 *
 *   const sim = await startSimulator({ rpm: 60 });
 *   new OpenAI({ baseURL: sim.url, apiKey: 'x' });  // sim.url ends in /v1
 *   sim.failNext(2, '500'); sim.stats(); await sim.close();
 *
 * Standalone (benchmarks, multi-process tests), printing `{"url":…,"port":…}` on stdout and
 * controlled through GET /_sim/stats and POST /_sim/set | /_sim/fail-next | /_sim/reset:
 *
 *   node test/support/provider-simulator.ts --port 0 [--latency-ms 20] [--rpm 3000] [--tpm 1000000]
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { LocalEmbedding } from '../../src/providers/local.ts';
import { createRateWindow, type RateWindow } from './simulator-rate-window.ts';
import { apiError, embeddingsResponse, OPENAI_MODELS, parseEmbeddingsRequest, type SimModel } from './simulator-embeddings.ts';

export type FaultKind = '500' | '429' | 'quota' | 'timeout' | 'malformed' | 'wrong-dims';

/** Settable at start and at run time. */
export interface SimulatorKnobs {
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
}

export interface SimLogEntry {
  method: string;
  path: string;
  status: number | 'timeout';
  model?: string;
  inputs?: number;
  tokens?: number;
  dimensions?: number;
  encoding?: string;
  fault?: FaultKind;
}

export interface SimulatorStats {
  requests: number;
  /** Inputs and tokens of requests answered 200. */
  inputs: number;
  tokens: number;
  /** Responses by status (`timeout` for held requests). */
  byStatus: Record<string, number>;
  /** The last 10,000 requests, oldest first. */
  log: SimLogEntry[];
}

export interface SimRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: unknown;
}

/** A response to send. `hold` keeps the socket open without answering (a timeout). */
export interface SimReply {
  status: number;
  body?: unknown;
  /** Sent as-is instead of `body` (malformed JSON). */
  raw?: string;
  headers?: Record<string, string>;
  hold?: boolean;
  log?: Partial<SimLogEntry>;
}

/** What route handlers share. */
export interface SimState {
  knobs: SimulatorKnobs;
  countTokens: (text: string) => number;
  window: RateWindow;
  embedders: Map<string, (text: string) => LocalEmbedding>;
  /** The next injected fault, if any (failNext first, then `faultRate`). */
  takeFault(): FaultKind | undefined;
}

export type Route = (req: SimRequest, state: SimState) => SimReply | Promise<SimReply>;

export interface Simulator {
  /** Base URL ending in `/v1`. */
  readonly url: string;
  readonly port: number;
  stats(): SimulatorStats;
  set(knobs: Partial<SimulatorKnobs>): void;
  /** The next `n` embeddings requests fail with `kind`. */
  failNext(n: number, kind: FaultKind): void;
  /** Zeroes counters, forgets queued faults and the rate window. */
  reset(): void;
  close(): Promise<void>;
}

const DEFAULT_KNOBS: SimulatorKnobs = { latencyMs: 0, rpm: 0, tpm: 0, faultRate: 0, faultKinds: ['500', '429'], retryAfterMs: 250, models: undefined, defaultDims: 1536 };
const LOG_LIMIT = 10_000;

const FAULTS: Record<FaultKind, (state: SimState) => SimReply> = {
  '500': () => apiError(500, 'The server had an error while processing your request. Sorry about that!', 'server_error'),
  '429': (s) => ({
    ...apiError(429, `Rate limit reached for requests. Please try again in ${(s.knobs.retryAfterMs / 1000).toFixed(3)}s.`, 'requests', 'rate_limit_exceeded'),
    headers: { 'retry-after': String(Math.ceil(s.knobs.retryAfterMs / 1000)), 'retry-after-ms': String(s.knobs.retryAfterMs) },
  }),
  quota: () => apiError(429, 'You exceeded your current quota, please check your plan and billing details.', 'insufficient_quota', 'insufficient_quota'),
  timeout: () => ({ status: 0, hold: true }),
  malformed: () => ({ status: 200, raw: '{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.1,' }),
  'wrong-dims': () => ({ status: 200 }), // answered by the embeddings route with half-size vectors
};

const embeddings: Route = (req, state) => {
  const parsed = parseEmbeddingsRequest(req.body, state);
  if ('status' in parsed) return parsed;
  const tokens = parsed.tokens.reduce((a, t) => a + t, 0);
  const log = { model: parsed.model, inputs: parsed.inputs.length, tokens, encoding: parsed.encoding, ...(parsed.dimensions ? { dimensions: parsed.dimensions } : {}) };
  const fault = state.takeFault();
  if (fault && fault !== 'wrong-dims') return { ...FAULTS[fault](state), log: { ...log, fault } };
  const limited = state.window.admit(tokens, parsed.model);
  if (limited) return { ...limited, log };
  const dims = fault === 'wrong-dims' ? Math.max(1, Math.floor((parsed.dimensions ?? parsed.served.dims) / 2)) : undefined;
  return { status: 200, body: embeddingsResponse(state, parsed, dims), headers: state.window.headers(), log: fault ? { ...log, fault } : log };
};

const listModels: Route = (_req, state) => ({
  status: 200,
  body: { object: 'list', data: Object.keys(state.knobs.models ?? OPENAI_MODELS).map((id) => ({ id, object: 'model', created: 0, owned_by: 'simulator' })) },
});

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Starts a simulator; `close()` it when done. */
export async function startSimulator(opts: SimulatorOptions = {}): Promise<Simulator> {
  const knobs: SimulatorKnobs = { ...DEFAULT_KNOBS };
  const set = (k: Partial<SimulatorKnobs>) => {
    for (const [key, v] of Object.entries(k)) if (v !== undefined || key === 'models') (knobs as unknown as Record<string, unknown>)[key] = v;
  };
  const { port: _p, host: _h, apiKey, countTokens, ...initial } = opts;
  set(initial);
  const queued: FaultKind[] = [];
  const state: SimState = {
    knobs,
    countTokens: countTokens ?? ((t) => Math.max(1, Math.ceil(Buffer.byteLength(t, 'utf8') / 4))),
    window: createRateWindow(knobs),
    embedders: new Map(),
    takeFault: () => queued.shift() ?? (knobs.faultRate > 0 && Math.random() < knobs.faultRate ? knobs.faultKinds[Math.floor(Math.random() * knobs.faultKinds.length)] : undefined),
  };
  let stats: SimulatorStats = { requests: 0, inputs: 0, tokens: 0, byStatus: {}, log: [] };
  const snapshot = (): SimulatorStats => structuredClone(stats);
  const control = {
    set,
    failNext(n: number, kind: FaultKind) {
      if (!(kind in FAULTS)) throw new Error(`unknown fault kind ${JSON.stringify(kind)}; expected one of ${Object.keys(FAULTS).join(', ')}`);
      for (let i = 0; i < n; i++) queued.push(kind);
    },
    reset() {
      stats = { requests: 0, inputs: 0, tokens: 0, byStatus: {}, log: [] };
      queued.length = 0;
      state.window.clear();
    },
  };

  const routes: Record<string, Route> = {
    'POST /v1/embeddings': embeddings,
    'GET /v1/models': listModels,
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
    const path = new URL(req.url ?? '/', 'http://sim').pathname;
    const text = await readBody(req);
    let reply: SimReply;
    let body: unknown;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      body = Symbol.for('unparsable');
    }
    const route = routes[`${req.method} ${path}`];
    const isApi = path.startsWith('/v1/');
    if (!route) reply = apiError(404, `Invalid URL (${req.method} ${path})`, 'invalid_request_error');
    else if (body === Symbol.for('unparsable')) reply = apiError(400, 'We could not parse the JSON body of your request.', 'invalid_request_error');
    else if (isApi && apiKey !== undefined && req.headers.authorization !== `Bearer ${apiKey}`)
      reply = apiError(401, `Incorrect API key provided: ${req.headers.authorization?.replace(/^Bearer /, '') ?? '(none)'}.`, 'invalid_request_error', 'invalid_api_key');
    else reply = await route({ method: req.method ?? 'GET', path, headers: req.headers, body }, state);
    if (isApi) {
      stats.requests++;
      const key = reply.hold ? 'timeout' : String(reply.status);
      stats.byStatus[key] = (stats.byStatus[key] ?? 0) + 1;
      if (reply.status === 200 && !reply.raw && reply.log) {
        stats.inputs += reply.log.inputs ?? 0;
        stats.tokens += reply.log.tokens ?? 0;
      }
      stats.log.push({ method: req.method ?? '', path, status: reply.hold ? 'timeout' : reply.status, ...reply.log });
      if (stats.log.length > LOG_LIMIT) stats.log.splice(0, stats.log.length - LOG_LIMIT);
    }
    if (reply.hold) return; // the client times out; close() ends the socket
    if (knobs.latencyMs > 0) await delay(knobs.latencyMs);
    if (res.destroyed) return;
    const payload = reply.raw ?? JSON.stringify(reply.body ?? null);
    res.writeHead(reply.status, { 'content-type': 'application/json', 'x-request-id': `req_sim_${stats.requests}`, ...reply.headers });
    res.end(payload);
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
    port: addr.port,
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
  process.stdout.write(`${JSON.stringify({ url: sim.url, port: sim.port })}\n`);
  const stop = () => void sim.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
