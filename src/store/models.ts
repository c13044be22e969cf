import { NORMALIZATION } from '../corpus/normalize.ts';
import type { Queryable } from './db.ts';

/** What the store needs to know of a resolved model (see src/providers/models.ts). */
export interface ModelVersionRow {
  key: string;
  provider: string;
  model: string;
  version: string;
  dims: number;
  nativeDims: number;
  dimAdapter: 'native' | 'provider' | 'truncate' | 'pad';
  normalization: string;
  maxInputTokens: number;
  priceSyncPerMTok: number;
  priceBatchPerMTok: number | null;
}

/** Inserts the model version if new and returns its id (one statement, race-free). */
export async function upsertModelVersion(db: Queryable, m: ModelVersionRow): Promise<number> {
  const { rows } = await db.query<{ id: number }>(
    `INSERT INTO model_versions (key, provider, model, version, dims, native_dims, dim_adapter, normalization, max_input_tokens, price_sync_per_mtok, price_batch_per_mtok)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
     ON CONFLICT (key) DO UPDATE SET price_sync_per_mtok = EXCLUDED.price_sync_per_mtok, price_batch_per_mtok = EXCLUDED.price_batch_per_mtok
     RETURNING id`,
    [m.key, m.provider, m.model, m.version, m.dims, m.nativeDims, m.dimAdapter, m.normalization, m.maxInputTokens, m.priceSyncPerMTok, m.priceBatchPerMTok],
  );
  return rows[0]!.id;
}

/** The parts of a resolved model (src/providers/types.ts ResolvedModel) its row records. */
export interface ResolvedModelFields {
  key: string;
  dims: number;
  dimAdapter: ModelVersionRow['dimAdapter'];
  spec: Pick<ModelVersionRow, 'provider' | 'model' | 'version' | 'nativeDims' | 'maxInputTokens' | 'priceSyncPerMTok' | 'priceBatchPerMTok'>;
}

/** The model version row of a resolved model (text normalized by {@link NORMALIZATION}); returns its id. */
export async function upsertResolvedModel(db: Queryable, m: ResolvedModelFields): Promise<number> {
  return upsertModelVersion(db, {
    key: m.key,
    provider: m.spec.provider,
    model: m.spec.model,
    version: m.spec.version,
    dims: m.dims,
    nativeDims: m.spec.nativeDims,
    dimAdapter: m.dimAdapter,
    normalization: NORMALIZATION,
    maxInputTokens: m.spec.maxInputTokens,
    priceSyncPerMTok: m.spec.priceSyncPerMTok,
    priceBatchPerMTok: m.spec.priceBatchPerMTok,
  });
}

/** What a model version row pins: the exact model every vector of it was made with. */
export type PinnedModelVersion = Pick<ModelVersionRow, 'key' | 'provider' | 'model' | 'version' | 'dims' | 'nativeDims'>;

/** The model version with this id, or `undefined` when there is none. */
export async function getModelVersion(db: Queryable, id: number): Promise<PinnedModelVersion | undefined> {
  const { rows } = await db.query<PinnedModelVersion>(
    `SELECT key, provider, model, version, dims, native_dims AS "nativeDims" FROM model_versions WHERE id = $1`,
    [id],
  );
  return rows[0];
}

/**
 * The native size recorded for a model version (any of its sizes: all share the model's native
 * one), newest row first; `undefined` when none was stored. What a probe found is kept here.
 */
export async function recordedNativeDims(db: Queryable, m: Pick<ModelVersionRow, 'provider' | 'model' | 'version'>): Promise<number | undefined> {
  const { rows } = await db.query<{ nativeDims: number }>(
    `SELECT native_dims AS "nativeDims" FROM model_versions WHERE provider = $1 AND model = $2 AND version = $3 ORDER BY id DESC LIMIT 1`,
    [m.provider, m.model, m.version],
  );
  return rows[0]?.nativeDims;
}

/** Marks retired the model versions no live index uses (none but dropped ones). */
export async function retireUnusedModels(db: Queryable): Promise<void> {
  await db.query(`UPDATE model_versions mv SET retired_at = now() WHERE retired_at IS NULL AND NOT EXISTS (SELECT 1 FROM index_versions v WHERE v.model_version_id = mv.id AND v.state <> 'dropped')`);
}
