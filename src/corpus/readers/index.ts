/** The corpus readers behind one entry point: expand the inputs, read each file by its kind. */
import { extname } from 'node:path';
import { readCsv } from './csv.ts';
import { expandPaths } from './expand.ts';
import { readJsonl } from './jsonl.ts';
import { expandRoots } from './roots.ts';
import { readTextFile } from './text.ts';
import type { ReadItem, ReadOptions } from './types.ts';

export type { ReadItem, ReadOptions, Rejection, SourceDoc } from './types.ts';

/**
 * Reads every document under `inputs` (files, directories, globs; see {@link expandPaths}):
 * `.jsonl`/`.ndjson` as JSONL records, `.csv` as CSV rows, anything else as one text document.
 * Streams: one file (or one record) at a time, rejections in line with the documents.
 *
 * @param opts.baseDir make text document ids relative to this directory (default: absolute paths)
 * @example for await (const item of readSources(['docs/'], { invalidUtf8: 'reject', baseDir: 'docs' })) …
 */
export async function* readSources(inputs: string[], opts: ReadOptions & { baseDir?: string }): AsyncIterable<ReadItem> {
  for await (const item of expandPaths(inputs)) {
    if ('kind' in item) {
      yield item;
      continue;
    }
    yield* readFile(item.path, opts);
  }
}

/**
 * Reads every document under the roots given, as an ingest run does: ids relative to the folder
 * holding each root (see roots.ts), whatever the current directory.
 */
export async function* readRoots(inputs: string[], opts: ReadOptions): AsyncIterable<ReadItem> {
  for await (const item of expandRoots(inputs)) {
    if ('kind' in item) yield item;
    else yield* readFile(item.path, { ...opts, baseDir: item.idBase });
  }
}

async function* readFile(path: string, opts: ReadOptions & { baseDir?: string }): AsyncIterable<ReadItem> {
  const ext = extname(path).toLowerCase();
  if (ext === '.jsonl' || ext === '.ndjson') yield* readJsonl(path, opts);
  else if (ext === '.csv') yield* readCsv(path, opts);
  else yield await readTextFile(path, opts);
}
