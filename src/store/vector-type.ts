/**
 * How a vector table stores its vectors, by size: the one home of the `vector` / `halfvec` rule.
 *
 * pgvector's HNSW indexes `vector` up to 2,000 dims and `halfvec` (IEEE 754 half floats) up to
 * 4,000. Every index gets an HNSW index, so tables up to 2,000 dims store `vector(n)`, tables of
 * 2,001 to 4,000 store `halfvec(n)`, and wider indexes are refused when they are created.
 * The embedding cache stores `vector` without a size (up to 16,000), so a cached vector is copied
 * into a halfvec table by pgvector's vector → halfvec cast.
 */
import { UsageError } from '../errors.ts';

/** Widest `vector` pgvector's HNSW indexes. */
export const MAX_VECTOR_HNSW_DIMS = 2000;
/** Widest `halfvec` pgvector's HNSW indexes, so the widest index embedq creates. */
export const MAX_INDEX_DIMS = 4000;

export type VectorStorage = 'vector' | 'halfvec';

export function vectorStorage(dims: number): VectorStorage {
  return dims > MAX_VECTOR_HNSW_DIMS ? 'halfvec' : 'vector';
}

/** The column type of a vector table, e.g. `vector(384)` or `halfvec(3072)`. */
export function vectorColumnType(dims: number): string {
  return `${vectorStorage(dims)}(${Number(dims)})`;
}

/** The HNSW operator class for cosine distance on that column. */
export function cosineOps(dims: number): string {
  return `${vectorStorage(dims)}_cosine_ops`;
}

/** Refuses an index pgvector could not build an HNSW index on. */
export function assertIndexableDims(dims: number): void {
  if (Number.isInteger(dims) && dims >= 1 && dims <= MAX_INDEX_DIMS) return;
  throw new UsageError(
    `an index of ${dims} dims cannot be created: pgvector's HNSW index takes halfvec vectors of at most 4,000 dims (vector at most 2,000). ` +
      `Use --dims ${MAX_INDEX_DIMS} or fewer (models with a dimensions parameter, such as openai/text-embedding-3-large, shorten their vectors), or a smaller model.`,
  );
}
