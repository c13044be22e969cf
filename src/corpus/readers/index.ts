/** The corpus readers behind one entry point: expand the inputs, read each file by its kind. */
import { extname } from 'node:path';
import { readCsv } from './csv.ts';
import { expandPaths, type ExpandOptions } from './expand.ts';
import { unreadable } from './fs-guard.ts';
import { readJsonl, type JsonlOptions } from './jsonl.ts';
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
export async function* readSources(inputs: string[], opts: ReadOptions & ExpandOptions & { baseDir?: string }): AsyncIterable<ReadItem> {
  for await (const item of expandPaths(inputs, opts)) {
    if ('kind' in item) yield item;
    else yield* readFiles([item.path], opts);
  }
}

/**
 * Reads every document under the roots given, as an ingest run does: ids relative to the folder
 * holding each root (see roots.ts), whatever the current directory.
 */
export async function* readRoots(inputs: string[], opts: ReadOptions & ExpandOptions): AsyncIterable<ReadItem> {
  for await (const item of expandRoots(inputs, opts)) {
    if ('kind' in item) yield item;
    else yield* readFiles([item.path], { ...opts, baseDir: item.idBase });
  }
}

/**
 * Reads files already expanded (an ingest job's list): each path literally, never as a
 * pattern, and each checked again just before it is opened (a regular file, not on a
 * pseudo-filesystem), since the tree may have changed since it was walked.
 */
export async function* readFiles(paths: string[], opts: ReadOptions & { baseDir?: string }): AsyncIterable<ReadItem> {
  for (const path of paths) {
    const why = await unreadable(path);
    if (why !== undefined) {
      yield { kind: 'rejected', path, reason: why };
      continue;
    }
    const ext = extname(path).toLowerCase();
    if (ext === '.jsonl' || ext === '.ndjson') yield* readJsonl(path, opts);
    else if (ext === '.csv') yield* readCsv(path, opts);
    else yield await readTextFile(path, opts);
  }
}

/** The records starting in one byte range of a JSONL file (an ingest job's slice), checked like {@link readFiles}. */
export async function* readJsonlRange(path: string, opts: JsonlOptions & { start: number; end: number }): AsyncIterable<ReadItem> {
  const why = await unreadable(path);
  if (why !== undefined) yield { kind: 'rejected', path, reason: why };
  else yield* readJsonl(path, opts);
}

/** A CSV file from a position on (a resumed ingest job), checked like {@link readFiles}. */
export async function* readCsvFrom(path: string, opts: Parameters<typeof readCsv>[1]): AsyncIterable<ReadItem> {
  const why = await unreadable(path);
  if (why !== undefined) yield { kind: 'rejected', path, reason: why };
  else yield* readCsv(path, opts);
}
