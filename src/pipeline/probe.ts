/**
 * {@link resolveModelWithProbe}: resolveModel for the commands that start work on a model
 * (ingest, reembed start). A model configured without its native size (an openai-compatible
 * server has no catalogue) takes the size recorded in model_versions when there is one; else
 * `--dims`; else the server is asked once, with a one-word input, through the provider factory
 * (so the configured URL, key and headers), and what it returned is recorded there with its
 * call in the ledger, so no later command probes again.
 */
import { redactUrl } from '../config/redact.ts';
import type { Config } from '../config/schema.ts';
import { tokenizerFor } from '../corpus/tokenizer.ts';
import { coerceError, ConfigError } from '../errors.ts';
import { connectionOf } from '../providers/credentials.ts';
import { createProvider } from '../providers/index.ts';
import { DimsMismatchError } from '../providers/indexed-embeddings.ts';
import { MAX_DIMS, overridesFor, resolveModel, UnknownNativeDimsError } from '../providers/models.ts';
import type { EmbedCall, EmbeddingProvider, ResolvedModel } from '../providers/types.ts';
import type { Queryable } from '../store/db.ts';
import { recordLedger } from '../store/ledger.ts';
import { recordedNativeDims, upsertResolvedModel } from '../store/models.ts';
import { outcomeOf } from './attempt-ledger.ts';

/** The one word a probe embeds. */
const PROBE_INPUT = 'hello';

export interface ProbeOptions {
  /** Whom the probe's ledger row is charged to. */
  tenant: string;
  /** The one line a probe prints (`probed tei/bge-m3: 1024 dims`); the CLI writes it on stderr. */
  notice: (line: string) => void;
  /** false: use a recorded size or `dims`, but never call the server (dry runs). @default true */
  probe?: boolean;
}

/**
 * @param dims output size. @default the model's native size
 * @throws ConfigError naming the server and the `nativeDims` setting when the probe fails, or
 *   when its answer is no usable vector (empty, too long, not finite, all zeros)
 * @example await resolveModelWithProbe(ctx.db, ctx.config, 'tei/bge-m3', undefined, { tenant: 'default', notice })
 */
export async function resolveModelWithProbe(db: Queryable, config: Config, id: string, dims: number | undefined, o: ProbeOptions): Promise<ResolvedModel> {
  const overrides = overridesFor(config.models, id);
  const resolve = (nativeDims?: number) => resolveModel(id, dims, nativeDims === undefined ? overrides : { ...overrides, nativeDims }, config.providers);
  // Asked without dims, so that a recorded size goes before --dims; any other error is resolve()'s to throw.
  let unknown: UnknownNativeDimsError | undefined;
  try {
    resolveModel(id, undefined, overrides, config.providers);
  } catch (e) {
    if (e instanceof UnknownNativeDimsError) unknown = e;
  }
  if (!unknown) return resolve();
  const recorded = await recordedNativeDims(db, unknown.spec);
  if (recorded !== undefined) return resolve(recorded);
  if (dims !== undefined || o.probe === false) return resolve();
  const { nativeDims, call } = await probe(config, resolve, unknown);
  const model = resolve(nativeDims);
  const modelVersionId = await upsertResolvedModel(db, model);
  // The server answered with a vector, so it may have billed the word: an ok call (a placeholder-sized one ended in a mismatch).
  const { error: _mismatch, ...answered } = call;
  await recordLedger(db, [{ tenant: o.tenant, provider: model.spec.provider, modelVersionId, mode: 'sync', inputs: 1, attempt: call.attempt, ...outcomeOf({ ...answered, status: 'ok' }, model.spec.priceSyncPerMTok) }]);
  o.notice(`probed ${model.spec.provider}/${model.spec.model}: ${nativeDims} dims`);
  return model;
}

/** Asks the server for one vector; its length is the model's native size. */
async function probe(config: Config, resolve: (nativeDims: number) => ResolvedModel, unknown: UnknownNativeDimsError): Promise<{ nativeDims: number; call: EmbedCall }> {
  const { provider: name, model: modelName } = unknown.spec;
  const { baseUrl } = connectionOf(name, config);
  const label = `${name}/${modelName}`;
  const fail = (why: string) =>
    new ConfigError([
      `${label}: probing its server${baseUrl ? ` (${redactUrl(baseUrl)})` : ''} for the model's native size failed: ${why.replace(`${label}: `, '')}; set providers.${name}.models.${modelName}.nativeDims to the size it returns instead`,
    ]);
  // Sized 1 until the answer says otherwise: a vector of any other length comes back in DimsMismatchError.
  const placeholder = resolve(1);
  const tokenizer = tokenizerFor(placeholder.spec.tokenizer);
  let provider: EmbeddingProvider;
  try {
    // The model's own server only: its deployments are checked once its size is known.
    provider = await createProvider(placeholder, { ...config, deployments: {} }, { countTokens: (t) => tokenizer.count(t), maxAttempts: config.worker.providerAttempts });
  } catch (e) {
    throw fail(coerceError(e).message);
  }
  let call: EmbedCall | undefined;
  let vector: Float32Array;
  try {
    vector = (await provider.embed([PROBE_INPUT], { onCall: (c) => void (call = c) })).vectors[0]!;
  } catch (e) {
    if (!(e instanceof DimsMismatchError)) throw fail(coerceError(e).message);
    vector = e.vector;
  }
  const problem = oddVector(vector);
  if (problem) throw fail(`it returned ${problem}`);
  return { nativeDims: vector.length, call: call! };
}

/** Why a probed vector cannot be a model's embedding, or undefined when it can. */
export function oddVector(v: Float32Array): string | undefined {
  if (v.length === 0) return 'an empty vector';
  if (v.length > MAX_DIMS) return `a ${v.length}-dim vector, more than embedq stores (${MAX_DIMS})`;
  if (!v.every(Number.isFinite)) return `a ${v.length}-dim vector with values that are not finite numbers`;
  if (v.every((x) => x === 0)) return `a ${v.length}-dim vector of zeros`;
  return undefined;
}
