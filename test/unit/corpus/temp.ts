/** Temporary corpora for the reader tests, under os.tmpdir(), removed after each file. */
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
