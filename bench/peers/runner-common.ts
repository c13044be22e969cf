/**
 * What every per-system runner shares: its arguments, and the one JSON line it prints on stdout
 * when done (run.ts starts each runner as its own process under /usr/bin/time for peak RSS).
 *
 *   node bench/peers/<system>.ts --corpus FILE --schema NAME --config defaults|best [--hnsw] [--dims 1536]
 *
 * Environment: DATABASE_URL, OPENAI_BASE_URL (the simulator, ending in /v1), OPENAI_API_KEY.
 */
import { parseArgs } from 'node:util';

export interface RunnerArgs {
  corpus: string;
  schema: string;
  config: 'defaults' | 'best';
  hnsw: boolean;
  dims: number;
  databaseUrl: string;
  baseURL: string;
  apiKey: string;
}

export function runnerArgs(): RunnerArgs {
  const { values } = parseArgs({
    options: {
      corpus: { type: 'string' },
      schema: { type: 'string' },
      config: { type: 'string', default: 'defaults' },
      hnsw: { type: 'boolean', default: false },
      dims: { type: 'string', default: '1536' },
    },
  });
  if (!values.corpus || !values.schema) throw new Error('usage: --corpus FILE --schema NAME [--config defaults|best] [--hnsw] [--dims N]');
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(values.schema)) throw new Error(`--schema ${values.schema}: lower-case letters, digits and _ only`);
  if (values.config !== 'defaults' && values.config !== 'best') throw new Error(`--config ${values.config}: defaults or best`);
  const baseURL = process.env.OPENAI_BASE_URL;
  if (!baseURL) throw new Error('OPENAI_BASE_URL must point at the provider simulator (…/v1)');
  return {
    corpus: values.corpus,
    schema: values.schema,
    config: values.config,
    hnsw: values.hnsw!,
    dims: Number(values.dims),
    databaseUrl: process.env.DATABASE_URL ?? 'postgres://embedq@127.0.0.1:55432/embedq',
    baseURL,
    apiKey: process.env.OPENAI_API_KEY ?? 'sk-bench',
  };
}

/** What a runner reports: times in ms, measured inside the process (after its imports). */
export interface RunnerResult {
  /** Everything the run did: read the corpus, set up, index, and the HNSW build when asked. */
  ms: number;
  /** The same without the HNSW build. */
  loadMs: number;
  /** CREATE INDEX … USING hnsw after the load (0 when not asked). */
  hnswMs: number;
  /** Rows in the system's vector table afterwards. */
  rows: number;
  /** The system's own account of the run (LangChain's IndexingResult, LlamaIndex's node count, …). */
  detail: Record<string, unknown>;
  /** The settings the run used, as passed to the library. */
  settings: Record<string, unknown>;
}

export function report(r: RunnerResult): void {
  process.stdout.write(`${JSON.stringify(r)}\n`);
}
