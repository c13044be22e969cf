/**
 * What a `/v1/embeddings` request's `model` (and `dimensions`) names: an alias from the config, or
 * `provider/model[@version]`, resolved as ingest resolves it (catalogue, config overrides, a
 * recorded probe) to the model version whose vectors and cache entries it shares with batch
 * indexing. Resolved once per process for each name and size.
 */
import type { Config } from '../config/schema.ts';
import { UsageError } from '../errors.ts';
import { resolveModelWithProbe } from '../pipeline/probe.ts';
import { overridesFor, resolveModel, UnknownNativeDimsError } from '../providers/models.ts';
import type { ResolvedModel } from '../providers/types.ts';
import type { Db } from '../store/db.ts';
import { upsertResolvedModel } from '../store/models.ts';
import type { Logger } from '../logger.ts';
import { WireError } from './wire.ts';

export interface GatewayModel {
  /** The name the client sent. */
  asked: string;
  /** `provider/model[@version]` it stands for. */
  id: string;
  resolved: ResolvedModel;
  modelVersionId: number;
}

export class GatewayModels {
  readonly #db: Db;
  readonly #config: Config;
  readonly #logger: Logger;
  readonly #cache = new Map<string, Promise<GatewayModel>>();

  constructor(db: Db, config: Config, logger: Logger) {
    this.#db = db;
    this.#config = config;
    this.#logger = logger;
  }

  /** The id an alias stands for, or the name itself. */
  idOf(asked: string): string {
    return Object.hasOwn(this.#config.aliases, asked) ? this.#config.aliases[asked]! : asked;
  }

  /**
   * @throws WireError 404 (`model_not_found`) for a name that is no model, 400 (`param: dimensions`) for a size it cannot give
   */
  resolve(asked: string, dimensions: number | undefined, tenant: string): Promise<GatewayModel> {
    const k = `${asked}\u0000${dimensions ?? ''}`;
    let p = this.#cache.get(k);
    if (!p) {
      p = this.#load(asked, dimensions, tenant);
      this.#cache.set(k, p);
      p.catch(() => this.#cache.delete(k));
    }
    return p;
  }

  async #load(asked: string, dimensions: number | undefined, tenant: string): Promise<GatewayModel> {
    const id = this.idOf(asked);
    try {
      resolveModel(id, undefined, overridesFor(this.#config.models, id), this.#config.providers);
    } catch (e) {
      // An openai-compatible model of unknown size exists; its size comes from the probe below.
      if (!(e instanceof UnknownNativeDimsError)) {
        const why = e instanceof UsageError ? e.message : 'it could not be resolved';
        throw new WireError(404, `The model '${asked}' does not exist or is not served here: ${why}. GET /v1/models lists the models.`, { param: 'model', code: 'model_not_found' });
      }
    }
    let resolved: ResolvedModel;
    try {
      resolved = await resolveModelWithProbe(this.#db, this.#config, id, dimensions, { tenant, notice: (line) => this.#logger.info(line) });
    } catch (e) {
      if (e instanceof UsageError) throw new WireError(400, e.message, { param: 'dimensions', code: 'invalid_dimensions' });
      throw e;
    }
    const modelVersionId = await upsertResolvedModel(this.#db, resolved);
    return { asked, id, resolved, modelVersionId };
  }
}
