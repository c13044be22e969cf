/**
 * Which path a run's chunks take: `sync` (the embeddings endpoint) or `batch` (the provider's
 * batch API). Ingest and reembed resolve `--mode` here.
 */
import { stat } from 'node:fs/promises';
import { UsageError } from '../errors.ts';
import { hasBatchApi, noBatchApiMessage } from '../providers/batch-backend.ts';
import { kindOf, type NamedProviders } from '../providers/models.ts';
import type { IngestSourceSpec } from './types.ts';

export type Mode = 'sync' | 'batch';

/**
 * Resolves an asked-for mode for a model key (`provider/model@…`). `batch` needs a provider with
 * a batch API (by its kind: `providers` holds the configured names' kinds) and is refused
 * otherwise, naming the providers that have one; `auto` is `batch` when the provider has one and
 * `large()` says the work is worth it, else `sync`.
 */
export async function resolveMode(asked: Mode | 'auto', modelKey: string, large: () => boolean | Promise<boolean>, providers: NamedProviders = {}): Promise<Mode> {
  if (asked === 'sync') return 'sync';
  const kind = kindOf(modelKey.split('/')[0]!, providers);
  if (!hasBatchApi(kind ?? '')) {
    if (asked === 'batch') throw new UsageError(noBatchApiMessage(modelKey, kind));
    return 'sync';
  }
  if (asked === 'batch') return 'batch';
  return (await large()) ? 'batch' : 'sync';
}

/** A run's chunks estimated from what it will read: bytes / ~4 bytes per token / chunk size. */
export async function estimateChunks(sources: IngestSourceSpec[], chunkTokens: number): Promise<number> {
  let bytes = 0;
  for (const s of sources) {
    if (s.kind === 'jsonl') bytes += s.end - s.start;
    else if (s.kind === 'records') for (const r of s.records) bytes += Buffer.byteLength(r.text);
    else for (const p of s.kind === 'files' ? s.paths : [s.path]) bytes += await stat(p).then((x) => x.size, () => 0);
  }
  return bytes / 4 / chunkTokens;
}
