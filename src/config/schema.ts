/**
 * The configuration, parsed once at the boundary into a frozen {@link Config}. All problems
 * are collected and reported together, each naming the key and the form it expects.
 */
import { z } from 'zod';
import { ConfigError } from '../errors.ts';
import { TENANT_PATTERN, TENANT_RULE } from '../tenant.ts';
import { baseUrl, positiveInt, url } from './fields.ts';
import { deploymentsSchema, failoverSchema } from './deployments.ts';
import { BUILT_IN_PROVIDERS, providersSchema } from './providers.ts';
import { redactUrls } from './redact.ts';
import { strongSecret } from './secrets.ts';

const identifier = /^[a-z_][a-z0-9_]{0,47}$/;

const SECRET_RULE = 'a secret of at least 16 characters and 64 bits of entropy, e.g. from `openssl rand -hex 24` (16 spaces or one repeated character are refused)';

/** The settings file / environment shape, with defaults. */
export const configSchema = z.strictObject({
  /** Redis for BullMQ and the shared rate limiter. @default redis://127.0.0.1:56379 */
  redisUrl: url(['redis', 'rediss']).default('redis://127.0.0.1:56379'),
  /** Postgres with pgvector. @default postgres://embedq@127.0.0.1:55432/embedq */
  databaseUrl: url(['postgres', 'postgresql']).default('postgres://embedq@127.0.0.1:55432/embedq'),
  /** Postgres schema for embedq's tables (tests use one per file). @default embedq */
  dbSchema: z.string().regex(identifier, 'a lower-case SQL identifier like embedq').default('embedq'),
  /**
   * Postgres connections one pool may open. Each process has one pool; `embedq serve` has two (the
   * gateway's relaxed-commit writes have their own), so a server opens up to twice this. Lower it
   * when many processes share one Postgres's `max_connections`. @default 10
   */
  dbPoolSize: positiveInt.max(1000).default(10),
  /** Prefix of every Redis key (BullMQ queues, limiter, run progress). @default embedq */
  redisPrefix: z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'letters, digits and _.:- (at most 64)').default('embedq'),
  /** Model used when `--model` is not given. @default local/hash-v1 */
  defaultModel: z.string().regex(/^[a-z0-9_-]+\/[A-Za-z0-9_.:@-]+$/, 'provider/model, e.g. local/hash-v1').default('local/hash-v1'),
  /** Tenant used when `--tenant` is not given. @default default */
  defaultTenant: z.string().regex(TENANT_PATTERN, TENANT_RULE).default('default'),
  openai: z
    .strictObject({
      apiKey: z.string().min(1).optional(),
      baseUrl: baseUrl('OPENAI_API_KEY').optional(),
      organization: z.string().optional(),
    })
    .default({}),
  cohere: z
    .strictObject({
      apiKey: z.string().min(1).optional(),
      baseUrl: baseUrl('COHERE_API_KEY').optional(),
    })
    .default({}),
  /**
   * Named providers, each of a kind (its API) with its own base URL, key and models; `<name>/<model>`
   * is then a model id everywhere, with its own rate limits and ledger rows. Catalogue models of
   * the kind need no entry under `models`; a model the catalogue lacks declares its size and
   * limits there. See docs/providers.md. @default {}
   * @example { "tei": { "kind": "openai-compatible", "baseUrl": "http://127.0.0.1:8080/v1", "models": { "bge-m3": { "nativeDims": 1024, "maxInputTokens": 8192, "maxInputsPerRequest": 32, "maxTokensPerRequest": 16384 } } } }
   */
  providers: providersSchema,
  /**
   * Models served by several deployments of one model version, keyed by the model id an index
   * uses: weighted among the healthy ones of the best priority, failing over on 5xx, timeouts,
   * connection errors and long 429s. See docs/providers.md. @default {}
   */
  deployments: deploymentsSchema,
  failover: failoverSchema,
  chunk: z
    .strictObject({
      /** Target tokens per chunk. @default 512 */
      tokens: positiveInt.max(8191).default(512),
      /** Tokens shared by neighbouring chunks. @default 64 */
      overlap: z.coerce.number().int().min(0).default(64),
    })
    .default({ tokens: 512, overlap: 64 }),
  /** What to do with invalid UTF-8 in a source: reject the document, or replace bad bytes with U+FFFD. @default reject */
  invalidUtf8: z.enum(['reject', 'replace']).default('reject'),
  /** Inputs longer than the model's limit: truncate them, or split them into several inputs. @default truncate */
  overlong: z.enum(['truncate', 'split']).default('truncate'),
  worker: z
    .strictObject({
      /** Embed jobs processed at once per worker process. @default 4 */
      concurrency: positiveInt.max(256).default(4),
      /** Ingest jobs processed at once per worker process. @default 2 */
      ingestConcurrency: positiveInt.max(64).default(2),
      /**
       * How long a job stays locked to a worker without renewal (renewed every half of it while the
       * job runs); a killed worker's jobs return to the queue within about 1.5× this. Far shorter
       * than a provider call may take (60 s timeout): the lock tracks the process, not the call.
       * It must stay longer than the worst event-loop stall of a busy worker (BENCHMARKS.md,
       * "Job lock"), or live jobs are taken over and paid twice. @default 10000
       */
      lockMs: positiveInt.min(1000).default(10_000),
      /** Attempts per embed job before it is marked failed (exponential backoff between). @default 6 */
      embedAttempts: positiveInt.max(50).default(6),
      /** Most inputs in one embed job (also capped by the provider's inputs and tokens per request). @default 1024 */
      embedBatch: positiveInt.max(4096).default(1024),
      /**
       * Attempts per provider request inside one job (short blips, honouring Retry-After); a job
       * that still fails is retried by the queue with backoff, so the two multiply. @default 4
       */
      providerAttempts: positiveInt.max(20).default(4),
      /** A job delayed by a tenant budget is checked again after at most this long. @default 60000 */
      budgetRecheckMs: positiveInt.min(100).default(60_000),
    })
    .default({ concurrency: 4, ingestConcurrency: 2, lockMs: 10_000, embedAttempts: 6, embedBatch: 1024, providerAttempts: 4, budgetRecheckMs: 60_000 }),
  /**
   * Per-model overrides of the registry, keyed by `provider/model`: prices (USD per 1M input
   * tokens), limits, the pinned version, and the native size of models the registry lacks.
   * @example { "openai/text-embedding-3-small": { "priceSyncPerMTok": 0.02, "priceBatchPerMTok": 0.01 } }
   */
  models: z
    .record(
      z.string().regex(/^[a-z0-9_-]+\/[^@\s]+$/, 'provider/model keys'),
      z.strictObject({
        version: z.string().regex(/^[A-Za-z0-9_.-]+$/).optional(),
        nativeDims: positiveInt.optional(),
        maxInputTokens: positiveInt.optional(),
        maxInputsPerRequest: positiveInt.optional(),
        maxTokensPerRequest: positiveInt.optional(),
        priceSyncPerMTok: z.coerce.number().min(0).optional(),
        priceBatchPerMTok: z.coerce.number().min(0).nullable().optional(),
      }),
    )
    .default({}),
  // ── rateLimits: the shared rate limiter (src/providers/rate-limiter.ts) ─────────────────────
  /**
   * Requests and tokens per minute per `provider/model`, shared by every worker process through
   * Redis. A limit the provider's `x-ratelimit-*` headers report lower wins; a model with no entry
   * is limited only by those headers and by 429 Retry-After pauses. `headroom` is the fraction of
   * the limit to aim at. @default {}
   * @example { "openai/text-embedding-3-small": { "rpm": 3000, "tpm": 1000000, "headroom": 0.95 } }
   */
  rateLimits: z
    .record(
      z.string().regex(/^[a-z0-9_-]+\/[^@\s]+$/, 'provider/model keys'),
      z.strictObject({
        rpm: positiveInt.optional(),
        tpm: positiveInt.optional(),
        /** @default 0.95 */
        headroom: z.coerce.number().gt(0).max(1).default(0.95),
      }),
    )
    .default({}),
  // ── end rateLimits ──────────────────────────────────────────────────────────────────────────
  batch: z
    .strictObject({
      /** How often workers poll open provider batches. @default 30000 */
      pollMs: positiveInt.min(100).default(30_000),
      /** `--mode auto` sends a run to the batch API when it has at least this many estimated chunks. @default 10000 */
      autoThreshold: positiveInt.default(10_000),
    })
    .default({ pollMs: 30_000, autoThreshold: 10_000 }),
  /**
   * Model names the gateway's `/v1/embeddings` also answers to, so an unchanged client works:
   * `{"text-embedding-3-small": "openai/text-embedding-3-small"}`. @default {}
   */
  aliases: z.record(z.string().min(1).max(200), z.string().regex(/^[a-z0-9_-]+\/[A-Za-z0-9_.:@-]+$/, 'provider/model[@version], e.g. openai/text-embedding-3-small')).default({}),
  gateway: z
    .strictObject({
      /**
       * Provider requests in flight at once per model version in one `embedq serve` process (a
       * worker's embed jobs keep `worker.concurrency`). Online requests arrive one by one, so a low
       * cap queues them behind each other; the shared rate limiter still holds the provider's rpm
       * and tpm. @default 64
       */
      providerConcurrency: positiveInt.max(1024).default(64),
    })
    .default({ providerConcurrency: 64 }),
  // ── adminToken: `embedq serve` (src/server/auth.ts) ─────────────────────────────────────────
  /**
   * Secret guarding the dashboard at /admin/queues: sent as `Authorization: Bearer <token>`, or as
   * the password of HTTP basic auth with any user name (so a browser can log in). Without it
   * `serve` binds only to loopback and generates a token at start, printed in the dashboard's
   * URL. @default undefined
   */
  adminToken: z.string().refine(strongSecret, SECRET_RULE).optional(),
  /** Bearer token for /metrics when `serve` listens beyond loopback; the admin token when unset. @default undefined */
  metricsToken: z.string().refine(strongSecret, SECRET_RULE).optional(),
  // ── end adminToken ──────────────────────────────────────────────────────────────────────────
  /**
   * OpenTelemetry traces (src/telemetry.ts): off unless an endpoint is set. `endpoint` is the OTLP
   * base URL (`/v1/traces` is appended; `OTEL_EXPORTER_OTLP_ENDPOINT`), `tracesEndpoint` the full
   * traces URL (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`), `protocol` http/protobuf or http/json
   * (`OTEL_EXPORTER_OTLP_PROTOCOL`), `disabled` turns it off whatever is set (`OTEL_SDK_DISABLED`).
   * Headers, service name, resource attributes and batching come from the standard OTEL_*
   * variables, read by the SDK. @default off
   */
  otel: z
    .strictObject({
      endpoint: z.url().optional(),
      tracesEndpoint: z.url().optional(),
      protocol: z.enum(['http/protobuf', 'http/json', 'grpc']).default('http/protobuf').refine((p) => p !== 'grpc', 'http/protobuf or http/json (embedq ships the HTTP exporters; point it at your collector\'s HTTP port, 4318)'),
      disabled: z.stringbool().default(false),
    })
    .default({ protocol: 'http/protobuf', disabled: false }),
  /** A waiting command (ingest, reembed) says so on its progress line when its run has not moved for this long. @default 30000 */
  stallNoticeMs: positiveInt.default(30_000),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('warn'),
}).superRefine((c, ctx) => {
  // A model id's provider must be built in or configured: a typo is named where it was written.
  const known = [...BUILT_IN_PROVIDERS, ...Object.keys(c.providers)];
  const check = (id: string, path: string[]) => {
    const name = id.split('/')[0]!;
    if (!known.includes(name)) ctx.addIssue({ code: 'custom', path, message: `a known provider, not ${JSON.stringify(name)} (known: ${known.join(', ')}; configure others under "providers")` });
  };
  check(c.defaultModel, ['defaultModel']);
  for (const id of Object.keys(c.models)) check(id, ['models', id]);
  for (const id of Object.keys(c.rateLimits)) check(id, ['rateLimits', id]);
  for (const [id, list] of Object.entries(c.deployments)) {
    check(id, ['deployments', id]);
    list.forEach((d, i) => check(`${d.provider}/`, ['deployments', id, String(i), 'provider']));
  }
});

export type Config = Readonly<z.output<typeof configSchema>>;
export type RawConfig = z.input<typeof configSchema>;

/** Environment variables and the config key each sets. */
export const ENV_KEYS: Readonly<Record<string, string>> = {
  REDIS_URL: 'redisUrl',
  OTEL_EXPORTER_OTLP_ENDPOINT: 'otel.endpoint',
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'otel.tracesEndpoint',
  OTEL_EXPORTER_OTLP_PROTOCOL: 'otel.protocol',
  OTEL_SDK_DISABLED: 'otel.disabled',
  DATABASE_URL: 'databaseUrl',
  EMBEDQ_DB_SCHEMA: 'dbSchema',
  EMBEDQ_DB_POOL_SIZE: 'dbPoolSize',
  EMBEDQ_REDIS_PREFIX: 'redisPrefix',
  EMBEDQ_MODEL: 'defaultModel',
  EMBEDQ_TENANT: 'defaultTenant',
  OPENAI_API_KEY: 'openai.apiKey',
  OPENAI_BASE_URL: 'openai.baseUrl',
  OPENAI_ORG_ID: 'openai.organization',
  COHERE_API_KEY: 'cohere.apiKey',
  COHERE_BASE_URL: 'cohere.baseUrl',
  EMBEDQ_CHUNK_TOKENS: 'chunk.tokens',
  EMBEDQ_CHUNK_OVERLAP: 'chunk.overlap',
  EMBEDQ_INVALID_UTF8: 'invalidUtf8',
  EMBEDQ_OVERLONG: 'overlong',
  EMBEDQ_WORKER_CONCURRENCY: 'worker.concurrency',
  EMBEDQ_WORKER_LOCK_MS: 'worker.lockMs',
  EMBEDQ_EMBED_ATTEMPTS: 'worker.embedAttempts',
  EMBEDQ_EMBED_BATCH: 'worker.embedBatch',
  EMBEDQ_PROVIDER_ATTEMPTS: 'worker.providerAttempts',
  EMBEDQ_BUDGET_RECHECK_MS: 'worker.budgetRecheckMs',
  EMBEDQ_LOG_LEVEL: 'logLevel',
  EMBEDQ_STALL_NOTICE_MS: 'stallNoticeMs',
  EMBEDQ_BATCH_POLL_MS: 'batch.pollMs',
  EMBEDQ_BATCH_AUTO_THRESHOLD: 'batch.autoThreshold',
  EMBEDQ_ADMIN_TOKEN: 'adminToken',
  EMBEDQ_METRICS_TOKEN: 'metricsToken',
};

const SECRET_KEYS = new Set(['openai.apiKey', 'cohere.apiKey', 'adminToken', 'metricsToken']);
/** A provider's key and headers (which may carry a credential) are never quoted back. */
const isSecret = (key: string) => SECRET_KEYS.has(key) || /^providers\.[^.]+\.(apiKey|headers)(\.|$)/.test(key);

/** Levenshtein distance, for "did you mean" on unknown keys. */
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++)
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
  return d[a.length]![b.length]!;
}

function knownKeysAt(path: readonly PropertyKey[]): string[] {
  let shape: z.ZodType = configSchema;
  for (const p of path) {
    const inner = unwrap(shape);
    // A record's entries (providers.<name>, its models.<model>) all have the record's value shape.
    if (inner instanceof z.ZodRecord) shape = inner.valueType as z.ZodType;
    else if (inner instanceof z.ZodArray) shape = inner.element as z.ZodType;
    else if (inner instanceof z.ZodObject) shape = (inner.shape as Record<string, z.ZodType>)[String(p)]!;
    else return [];
  }
  const inner = unwrap(shape);
  return inner instanceof z.ZodObject ? Object.keys(inner.shape) : [];
}

function unwrap(t: z.ZodType): z.ZodType {
  let cur: z.ZodType = t;
  while (cur instanceof z.ZodDefault || cur instanceof z.ZodOptional) cur = cur.unwrap() as z.ZodType;
  return cur;
}

/**
 * Parses raw settings into a frozen Config, or throws one {@link ConfigError} listing every
 * problem. `origin` maps a dotted key to where it came from (e.g. `env OPENAI_BASE_URL`); `env`
 * gives the keys named by `providers.<name>.apiKeyEnv` (load.ts passes the environment).
 */
export function parseConfig(raw: unknown, origin: (key: string) => string = (k) => k, env: Readonly<Record<string, string | undefined>> = {}): Config {
  const result = configSchema.safeParse(raw);
  if (result.success) {
    for (const p of Object.values(result.data.providers)) if (p.apiKeyEnv && env[p.apiKeyEnv]) p.apiKey = env[p.apiKeyEnv];
    return deepFreeze(result.data);
  }
  const problems: string[] = [];
  for (const issue of result.error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const full = [...issue.path, key].join('.');
        const known = knownKeysAt(issue.path);
        const best = known.map((k) => [k, distance(k, key)] as const).sort((a, b) => a[1] - b[1])[0];
        const hint = best && best[1] <= 3 ? ` (did you mean "${[...issue.path, best[0]].join('.')}"?)` : '';
        problems.push(`${origin(full)}: unknown setting${hint}`);
      }
      continue;
    }
    const key = issue.path.join('.');
    // For a bad key, the path already names it; its value is beside the point.
    const shown = isSecret(key) || issue.code === 'invalid_key' ? '' : describeValue(raw, issue.path);
    problems.push(`${origin(key)}: expected ${expectation(issue)}${shown}`);
  }
  throw new ConfigError(problems);
}

function expectation(issue: z.core.$ZodIssue): string {
  // A bad record key (a provider's name, a header's name): what its own check said.
  if (issue.code === 'invalid_key') return issue.issues[0] ? expectation(issue.issues[0] as z.core.$ZodIssue) : 'a valid name';
  if (issue.code === 'invalid_value') return `one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
  // An exclusive bound (`positive()` is > 0) must not read as inclusive: ">= 0, got 0" misleads.
  if (issue.code === 'too_small') return `a number ${issue.inclusive === false ? '>' : '>='} ${String(issue.minimum)}`;
  if (issue.code === 'too_big') return `a number ${issue.inclusive === false ? '<' : '<='} ${String(issue.maximum)}`;
  if (issue.code === 'invalid_type') return `${issue.expected}`;
  return issue.message.replace(/^Invalid string: must match pattern .*$/, 'a valid value');
}

function describeValue(raw: unknown, path: readonly PropertyKey[]): string {
  let cur: unknown = raw;
  for (const p of path) {
    if (cur === null || typeof cur !== 'object') return '';
    cur = (cur as Record<PropertyKey, unknown>)[p];
  }
  if (cur === undefined) return '';
  // A malformed URL is quoted back, so its password is taken out first.
  const s = redactUrls(typeof cur === 'string' ? cur : JSON.stringify(cur));
  return `, got ${JSON.stringify(s.length > 80 ? `${s.slice(0, 77)}...` : s)}`;
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}
