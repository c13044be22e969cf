/**
 * {@link resolveModel}, which turns `provider/model[@version]` plus an optional output size into a
 * {@link ResolvedModel} with its dimension adapter chosen, reading the model catalogue
 * (catalogue.ts: the data, each figure with its source) and the config's overrides.
 */
import { BUILT_IN_PROVIDERS } from '../config/providers.ts';
import type { Config } from '../config/schema.ts';
import { ConfigError, UsageError } from '../errors.ts';
import { CATALOGUE } from './catalogue.ts';
import type { DimAdapter, ModelSpec, ProviderKind, ResolvedModel } from './types.ts';

/** Kinds that serve another kind's catalogue rows: an Azure OpenAI resource serves OpenAI's models. */
const CATALOGUE_KIND: Partial<Record<ProviderKind, ProviderKind>> = { 'azure-openai': 'openai' };
const catalogueKind = (kind: ProviderKind): ProviderKind => CATALOGUE_KIND[kind] ?? kind;

/** The config's named providers (`providers`), as resolveModel reads them. */
export type NamedProviders = Config['providers'];
type NamedProviderConfig = NamedProviders[string];

/** The built-in providers, whose names are their kinds. */
export const PROVIDERS = BUILT_IN_PROVIDERS;
export type ProviderName = (typeof PROVIDERS)[number];

/** Largest `vector(n)` pgvector stores. Above 2,000 dims the store must use `halfvec` for HNSW. */
export const MAX_DIMS = 16_000;

/** The catalogue as model specs, each under its kind's own name (`openai/…`, `voyage/…`). */
export const MODELS: readonly ModelSpec[] = CATALOGUE.map(({ source: _s, checked: _c, ...row }) => ({ provider: row.kind, ...row }));

/** OpenAI /v1/embeddings limits, for OpenAI-compatible models the catalogue lacks. */
const OPENAI_LIMITS = { maxInputTokens: 8191, maxInputsPerRequest: 2048, maxTokensPerRequest: 300_000 } as const;

/** Registry fields a config file may override (prices, limits, the version pin). */
export type ModelOverrides = Partial<Omit<ModelSpec, 'provider' | 'kind' | 'model'>>;

/** Splits `provider/model[@version]`. The model part may itself contain `/` (e.g. `BAAI/bge-m3`). */
export function parseModelId(id: string): { provider: string; model: string; version?: string } {
  const m = /^([a-z0-9_-]+)\/([^@\s]+)(?:@([A-Za-z0-9_.-]+))?$/.exec(id);
  if (!m) throw new UsageError(`model id ${JSON.stringify(id)} is not of the form provider/model or provider/model@version, e.g. openai/text-embedding-3-small`);
  return m[3] === undefined ? { provider: m[1]!, model: m[2]! } : { provider: m[1]!, model: m[2]!, version: m[3] };
}

export function findModel(provider: string, model: string): ModelSpec | undefined {
  return MODELS.find((s) => s.provider === provider && s.model === model);
}

/** `provider/model@version:dims`: the identity of a vector space. */
export function modelKey(spec: ModelSpec, dims: number): string {
  return `${spec.provider}/${spec.model}@${spec.version}:${dims}`;
}

/**
 * Resolves a model id and output size.
 *
 * Unknown `openai/…` names are allowed because OpenAI-compatible servers (vLLM, TEI, Ollama…)
 * serve arbitrary models; their size must then be given as `dims` (or `overrides.nativeDims`),
 * and they are priced at 0 unless configured. Unknown providers and unknown local/cohere models
 * are a {@link UsageError} listing the known ones.
 *
 * Sizes above 2,000 are allowed, but pgvector's HNSW indexes `vector` only up to 2,000 dims:
 * the store must use `halfvec` (up to 4,000) for them.
 *
 * @param dims output size. @default the model's native size
 * @example resolveModel('openai/text-embedding-3-small', 512).key // 'openai/text-embedding-3-small@1:512'
 */
export function resolveModel(id: string, dims?: number, overrides: ModelOverrides = {}, providers: NamedProviders = {}): ResolvedModel {
  const parsed = parseModelId(id);
  const provider = parsed.provider;
  const named = Object.hasOwn(providers, provider) ? providers[provider] : undefined;
  if (!named && !(PROVIDERS as readonly string[]).includes(provider))
    throw new UsageError(
      `unknown provider ${JSON.stringify(provider)} in model id ${JSON.stringify(id)}: known providers are ${[...PROVIDERS, ...Object.keys(providers)].join(', ')} (e.g. local/hash-v1, openai/text-embedding-3-small); configure others under "providers" (docs/providers.md)`,
    );
  let base = named ? namedModel(provider, named, parsed.model, overrides, dims) : findModel(provider, parsed.model);
  if (base && parsed.version !== undefined && parsed.version !== base.version && overrides.version === undefined)
    throw new UsageError(`${provider}/${parsed.model} has no version ${JSON.stringify(parsed.version)}: the registry pins version ${base.version} (use ${provider}/${parsed.model}@${base.version}, or configure a version override)`);
  if (!base) base = unknownModel(provider as ProviderName, parsed.model, overrides.nativeDims ?? dims);
  const spec: ModelSpec = { ...base, ...(parsed.version === undefined ? {} : { version: parsed.version }), ...overrides };
  const outDims = dims ?? spec.nativeDims;
  if (!Number.isInteger(outDims) || outDims < 1 || outDims > MAX_DIMS)
    throw new UsageError(`dims must be a whole number from 1 to ${MAX_DIMS} (pgvector's limit), got ${outDims}`);
  return { spec, dims: outDims, dimAdapter: chooseDimAdapter(spec, outDims), key: modelKey(spec, outDims) };
}

/** The kind of a provider name (built-in or configured), or undefined for an unknown name. */
export function kindOf(provider: string, providers: NamedProviders = {}): ProviderKind | undefined {
  if (Object.hasOwn(providers, provider)) return providers[provider]!.kind;
  return (PROVIDERS as readonly string[]).includes(provider) ? (provider as ProviderName) : undefined;
}

/** What a model the catalogue lacks is assumed to be, unless configured: unpriced, no extras. */
const UNLISTED = {
  version: '1',
  tokenizer: 'cl100k_base',
  priceSyncPerMTok: 0,
  priceBatchPerMTok: null,
  // Compatible servers differ on `dimensions`; never send it unless configured.
  supportsDimensions: false,
  matryoshka: false,
  inputTypes: false,
} as const;

/** Fields a model without a catalogue row must be given in config, unless its kind is {@link PROBED}. */
const DECLARED = ['nativeDims', 'maxInputTokens', 'maxInputsPerRequest', 'maxTokensPerRequest'] as const;

/** Kinds that speak OpenAI's /v1/embeddings: a model without a row gets OPENAI_LIMITS, and its size is probed (probe.ts). */
const PROBED = new Set<ProviderKind>(['openai', 'openai-compatible']);

/**
 * A configured model whose native size neither the catalogue nor the config gives, and no
 * `dims` either: resolveModelWithProbe (probe.ts) learns it from the server, once.
 */
export class UnknownNativeDimsError extends ConfigError {
  override name = 'UnknownNativeDimsError';
  /** The model without its size, for the probe and for `embedq models`. */
  readonly spec: Omit<ModelSpec, 'nativeDims'>;
  constructor(spec: Omit<ModelSpec, 'nativeDims'>) {
    const at = `providers.${spec.provider}.models.${spec.model}.nativeDims`;
    super([`${spec.provider}/${spec.model}: its native size is not configured (${at}) and has not been probed yet: \`embedq ingest\` and \`embedq reembed start\` probe the server once with a one-word input; or set ${at}, or pass --dims`]);
    this.spec = spec;
  }
}

/**
 * A configured provider's model: its kind's catalogue row (openai-compatible has none; azure-openai
 * reads OpenAI's) under the provider's name and kind, with `providers.<name>.models.<model>` over it.
 * A model without a row of a {@link PROBED} kind defaults its limits to OpenAI's, and its native
 * size to `dims` when given.
 * @throws UsageError for a model neither the catalogue nor the config knows
 * @throws UnknownNativeDimsError for such a model whose native size is left out, without `dims`
 * @throws ConfigError for a model without a row of another kind whose size or limits the config leaves out
 */
function namedModel(provider: string, p: NamedProviderConfig, model: string, overrides: ModelOverrides, dims: number | undefined): ModelSpec {
  const rows = catalogueKind(p.kind);
  const row = p.kind === 'openai-compatible' ? undefined : findModel(rows, model);
  const declared = Object.hasOwn(p.models, model) ? p.models[model] : undefined;
  if (!row && !declared) {
    const known = [...MODELS.filter((s) => s.kind === rows).map((s) => s.model), ...Object.keys(p.models)].map((m) => `${provider}/${m}`);
    throw new UsageError(
      `unknown ${provider} model ${JSON.stringify(model)}: ${known.length ? `known ${provider} models are ${[...new Set(known)].join(', ')}` : `provider ${provider} (${p.kind}) declares no models`}; declare others under providers.${provider}.models with their nativeDims and limits`,
    );
  }
  const { dims: providerDims, deployment, ...fields } = declared ?? {};
  const conf = Object.fromEntries(Object.entries({ ...fields, ...(providerDims ? { providerDims } : {}) }).filter(([, v]) => v !== undefined)) as Partial<ModelSpec>;
  const azure = p.kind === 'azure-openai' ? { deployment: deployment ?? model } : {};
  if (row) return { ...row, provider, kind: p.kind, ...conf, ...azure };
  const missing = PROBED.has(p.kind) ? [] : DECLARED.filter((k) => conf[k] === undefined && overrides[k] === undefined);
  if (missing.length)
    throw new ConfigError([
      `${provider}/${model}: the ${rows} catalogue has no ${model}, so the config must give its size and limits: set ${missing.map((k) => `providers.${provider}.models.${model}.${k}`).join(', ')} (embedq probes only servers speaking OpenAI's /v1/embeddings)`,
    ]);
  const spec = { provider, kind: p.kind, model, ...UNLISTED, ...OPENAI_LIMITS, ...conf, ...azure };
  const nativeDims = overrides.nativeDims ?? spec.nativeDims ?? dims;
  if (nativeDims === undefined) throw new UnknownNativeDimsError({ ...spec, ...overrides });
  return { ...spec, nativeDims };
}

function unknownModel(provider: ProviderName, model: string, dims: number | undefined): ModelSpec {
  if (provider !== 'openai') {
    const known = MODELS.filter((s) => s.provider === provider).map((s) => `${s.provider}/${s.model}`);
    throw new UsageError(`unknown ${provider} model ${JSON.stringify(model)}: known ${provider} models are ${known.join(', ')}`);
  }
  if (dims === undefined)
    throw new UsageError(
      `openai/${model} is not in the model registry, so its output size is unknown: pass --dims with the size the server returns (e.g. --dims 768), or use a known model (${MODELS.filter((s) => s.provider === 'openai').map((s) => s.model).join(', ')})`,
    );
  return { provider: 'openai', kind: 'openai', model, nativeDims: dims, ...UNLISTED, ...OPENAI_LIMITS };
}

/**
 * Chooses how `dims` is obtained from `spec`, or throws a {@link UsageError} saying why it can't.
 * Order of preference: native size, the provider's dimensions parameter, Matryoshka truncation,
 * zero padding (only ever to grow).
 */
export function chooseDimAdapter(spec: ModelSpec, dims: number): DimAdapter {
  const name = `${spec.provider}/${spec.model}`;
  if (spec.nativeDimsRange) {
    const [min, max] = spec.nativeDimsRange;
    if (dims >= min && dims <= max) return 'native';
    if (dims > max) return 'pad';
    throw new UsageError(`${name} produces ${min} to ${max} dims, not ${dims}`);
  }
  if (dims === spec.nativeDims) return 'native';
  // A listed size above the default (codestral-embed: 1536 by default, up to 3072) is asked for.
  if (dims > spec.nativeDims && spec.supportsDimensions && spec.providerDims?.includes(dims)) return 'provider';
  if (dims > spec.nativeDims) return 'pad';
  if (spec.supportsDimensions && (!spec.providerDims || spec.providerDims.includes(dims))) return 'provider';
  if (spec.matryoshka) return 'truncate';
  const why =
    spec.supportsDimensions && spec.providerDims
      ? `the provider accepts only ${spec.providerDims.join(', ')} dims and the model is not known to be Matryoshka-trained, so truncating its vectors could lose meaning`
      : `it does not accept a dimensions parameter and was not Matryoshka-trained, so truncating its vectors would lose meaning`;
  throw new UsageError(`${name} returns ${spec.nativeDims} dims and cannot produce ${dims}: ${why}. Use --dims ${spec.nativeDims}${spec.providerDims ? ` or one of ${spec.providerDims.join(', ')}` : ''}, or a Matryoshka model such as openai/text-embedding-3-small`);
}

/** The config file's overrides for a model id (`provider/model[@version]`), without unset keys. */
export function overridesFor(models: Readonly<Record<string, Readonly<Record<string, unknown>>>>, id: string): ModelOverrides {
  const { provider, model } = parseModelId(id);
  const o = models[`${provider}/${model}`] ?? {};
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as ModelOverrides;
}

/** One model `embedq models` lists: usable under `id`, or only in the catalogue (`id` null). */
export interface ListedModel {
  /** `provider/model` to pass as `--model`; null for a catalogue row no provider serves yet. */
  id: string | null;
  /** `nativeDims` null: configured without it and probed on first use (probe.ts). */
  spec: Omit<ModelSpec, 'nativeDims'> & { nativeDims: number | null };
}

/**
 * Every model the catalogue knows and every model a provider serves here: the built-in
 * providers' catalogue rows, each configured provider's (its kind's rows and the models its
 * config declares), all with the config's overrides; then the catalogue rows of the kinds no
 * provider serves yet, which a `providers` entry of that kind makes usable.
 */
export function listModels(models: Readonly<Record<string, Readonly<Record<string, unknown>>>> = {}, providers: NamedProviders = {}): ListedModel[] {
  const listed = (provider: string, model: string): ListedModel => {
    const id = `${provider}/${model}`;
    try {
      return { id, spec: resolveModel(id, undefined, overridesFor(models, id), providers).spec };
    } catch (e) {
      if (e instanceof UnknownNativeDimsError) return { id, spec: { ...e.spec, nativeDims: null } };
      throw e;
    }
  };
  const usable = MODELS.filter((s) => (PROVIDERS as readonly string[]).includes(s.provider)).map((s) => listed(s.provider, s.model));
  for (const [name, p] of Object.entries(providers)) {
    const names = [...(p.kind === 'openai-compatible' ? [] : MODELS.filter((s) => s.kind === catalogueKind(p.kind)).map((s) => s.model)), ...Object.keys(p.models)];
    for (const m of new Set(names)) usable.push(listed(name, m));
  }
  const served = new Set(usable.map((m) => m.spec.kind));
  return [...usable, ...MODELS.filter((s) => !served.has(s.kind)).map((spec) => ({ id: null, spec }))];
}
