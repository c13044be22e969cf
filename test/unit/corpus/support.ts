/** Shared helpers for the corpus unit tests: collected reads, streams and seeded randomness (temporary corpora are test/support/corpus.ts). */

export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

/** Reads as most tests compare documents: without the record's place (doc-ids.test.ts covers it). */
export async function collectWithoutPlace<T>(items: AsyncIterable<T>): Promise<T[]> {
  return (await collect(items)).map((i) => {
    if (typeof i !== 'object' || i === null || !('record' in i)) return i;
    const { record: _record, ...rest } = i as T & { record: unknown };
    return rest as T;
  });
}

/** `data` as an async stream of `size`-byte chunks, to test splitting across chunk edges. */
export async function* chunksOf(data: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
}

/** A small deterministic PRNG in [0, 1), so that generated test text is the same on every run. */
export function seeded(seed: number): () => number {
  let x = seed;
  return () => {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    return x / 0x7fffffff;
  };
}
