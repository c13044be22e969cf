/**
 * Splits the inputs of `embedq ingest` into ingest jobs without reading the documents: files are
 * grouped, each source carrying the folder its document ids are relative to (the one holding its
 * root, see roots.ts); JSONL files are cut into byte ranges (each job reads the records that start in its
 * range), CSV files go whole (quoted newlines make byte ranges unsafe).
 */
import { stat } from 'node:fs/promises';
import type { ExpandOptions } from '../corpus/readers/expand.ts';
import { expandRoots } from '../corpus/readers/roots.ts';
import type { IngestSourceSpec } from './types.ts';

export interface PlanOptions extends ExpandOptions {
  /** Text/Markdown files per job. @default 100 */
  filesPerJob?: number;
  /**
   * Bytes of JSONL per job. Jobs resume where they stopped (jobs/ingest.ts), and a smaller slice
   * also bounds what one killed worker holds up. @default 8 MiB
   */
  jsonlBytesPerJob?: number;
}

export async function planSources(inputs: string[], opts: PlanOptions = {}): Promise<{ sources: IngestSourceSpec[]; rejected: { path: string; reason: string }[] }> {
  const filesPerJob = opts.filesPerJob ?? 100;
  const rangeBytes = opts.jsonlBytesPerJob ?? 8 * 1024 * 1024;
  const sources: IngestSourceSpec[] = [];
  const rejected: { path: string; reason: string }[] = [];
  let group: string[] = [];
  let groupBase = '';
  const closeGroup = () => {
    if (group.length) sources.push({ kind: 'files', paths: group, baseDir: groupBase });
    group = [];
  };
  for await (const item of expandRoots(inputs, opts)) {
    if ('kind' in item && item.kind === 'rejected') {
      rejected.push({ path: item.path, reason: item.reason });
      continue;
    }
    const { path, idBase: baseDir } = item as { path: string; idBase: string };
    if (/\.(jsonl|ndjson)$/i.test(path)) {
      const size = (await stat(path)).size;
      if (size === 0) rejected.push({ path, reason: 'empty file' });
      for (let start = 0; start < size; start += rangeBytes) sources.push({ kind: 'jsonl', path, start, end: Math.min(size, start + rangeBytes), baseDir });
    } else if (/\.csv$/i.test(path)) {
      sources.push({ kind: 'csv', path, baseDir });
    } else {
      if (baseDir !== groupBase) closeGroup();
      groupBase = baseDir;
      group.push(path);
      if (group.length >= filesPerJob) closeGroup();
    }
  }
  closeGroup();
  return { sources, rejected };
}
