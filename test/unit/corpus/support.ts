/** Shared helpers for the corpus unit tests: temporary corpora, streams and seeded randomness. */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll } from 'vitest';

/** A fresh directory removed after the test file; `write` creates files (and parent folders) in it. */
export function tempCorpus(): { dir: string; write(rel: string, data: string | Uint8Array): string } {
  const dir = mkdtempSync(join(tmpdir(), 'embedq-corpus-unit-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return {
    dir,
    write(rel, data) {
      const path = join(dir, rel);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, data);
      return path;
    },
  };
}

export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
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
