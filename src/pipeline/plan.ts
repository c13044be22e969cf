/**
 * Splits the inputs of `embedq ingest` into ingest jobs without reading the documents: files are
 * grouped, JSONL files are cut into byte ranges (each job reads the records that start in its
 * range), CSV files go whole (quoted newlines make byte ranges unsafe).
 */
import { stat } from 'node:fs/promises';
import { expandPaths, type ExpandOptions } from '../corpus/readers/expand.ts';
import type { IngestSourceSpec } from './types.ts';

export interface PlanOptions extends ExpandOptions {
  /** Text/Markdown files per job. @default 200 */
  filesPerJob?: number;
  /** Bytes of JSONL per job. @default 32 MiB */
  jsonlBytesPerJob?: number;
}

export async function planSources(inputs: string[], opts: PlanOptions = {}): Promise<{ sources: IngestSourceSpec[]; rejected: { path: string; reason: string }[] }> {
  const filesPerJob = opts.filesPerJob ?? 200;
  const rangeBytes = opts.jsonlBytesPerJob ?? 32 * 1024 * 1024;
  const sources: IngestSourceSpec[] = [];
  const rejected: { path: string; reason: string }[] = [];
  let group: string[] = [];
  for await (const item of expandPaths(inputs, opts)) {
    if ('kind' in item && item.kind === 'rejected') {
      rejected.push({ path: item.path, reason: item.reason });
      continue;
    }
    const path = (item as { path: string }).path;
    if (/\.(jsonl|ndjson)$/i.test(path)) {
      const size = (await stat(path)).size;
      if (size === 0) rejected.push({ path, reason: 'empty file' });
      for (let start = 0; start < size; start += rangeBytes) sources.push({ kind: 'jsonl', path, start, end: Math.min(size, start + rangeBytes) });
    } else if (/\.csv$/i.test(path)) {
      sources.push({ kind: 'csv', path });
    } else {
      group.push(path);
      if (group.length >= filesPerJob) {
        sources.push({ kind: 'files', paths: group });
        group = [];
      }
    }
  }
  if (group.length) sources.push({ kind: 'files', paths: group });
  return { sources, rejected };
}
