/**
 * LlamaIndex.TS's IngestionPipeline, as its docs show it: a persistent docstore
 * (`@llamaindex/postgres`'s PostgresDocumentStore, so re-runs across processes see what was done)
 * and `@llamaindex/postgres`'s PGVectorStore, with `@llamaindex/openai`'s OpenAIEmbedding pointed
 * at the provider simulator by `baseURL` as the pipeline's one transformation.
 *
 * One Document per corpus record (the records are already chunk-sized, so no splitter); its id_ is
 * a UUID derived from the record id (PGVectorStore's id column is a uuid, and the docstore needs a
 * stable id to tell an unchanged document from a new one).
 *
 *   --config defaults   docStoreStrategy "upserts" (the default: a changed document replaces its
 *                       vectors), OpenAIEmbedding's embedBatchSize 10.
 *   --config best       embedBatchSize raised (see BEST); the strategy stays "upserts", which already
 *                       replaces changed documents ("upserts_and_delete" only adds deleting missing ones).
 *   --hnsw              the store has no HNSW of its own ("TODO add IVFFlat or HNSW indexing?" in its
 *                       source): CREATE INDEX … USING hnsw after the load, timed separately.
 */
import { createHash } from 'node:crypto';
import { Document, DocStoreStrategy, IngestionPipeline, Settings } from 'llamaindex';
import { OpenAIEmbedding } from '@llamaindex/openai';
import { PGVectorStore, PostgresDocumentStore } from '@llamaindex/postgres';
import pg from 'pg';
import { readCorpus } from './corpus.ts';
import { report, runnerArgs } from './runner-common.ts';

const BEST = { embedBatchSize: Number(process.env.PEERS_LI_BATCH ?? 1000) };

/** A name-based (version 5 style) UUID for a record id: stable across runs. */
function uuidFor(id: string): string {
  const h = createHash('sha1').update('embedq-bench-peers\u0000').update(id).digest();
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

const args = runnerArgs();
const t0 = performance.now();
const documents = (await readCorpus(args.corpus)).map((r) => new Document({ text: r.text, id_: uuidFor(r.id) }));

const clientConfig = { connectionString: args.databaseUrl };
const admin = new pg.Client(clientConfig);
await admin.connect();

const embedModel = new OpenAIEmbedding({
  model: 'text-embedding-3-small',
  apiKey: args.apiKey,
  baseURL: args.baseURL,
  ...(args.config === 'best' ? { embedBatchSize: BEST.embedBatchSize } : {}),
});
Settings.embedModel = embedModel; // the stores ask for it when constructed
const vectorStore = new PGVectorStore({ clientConfig, schemaName: args.schema, dimensions: args.dims });
const docStore = new PostgresDocumentStore({ clientConfig, schemaName: args.schema });
const pipeline = new IngestionPipeline({ transformations: [embedModel], vectorStore, docStore, docStoreStrategy: DocStoreStrategy.UPSERTS });

const nodes = await pipeline.run({ documents });
const loadMs = performance.now() - t0;

let hnswMs = 0;
if (args.hnsw) {
  const t = performance.now();
  await admin.query(`CREATE INDEX ON ${args.schema}.llamaindex_embedding USING hnsw (embeddings vector_cosine_ops)`);
  hnswMs = performance.now() - t;
}
const ms = performance.now() - t0;
const rows = Number((await admin.query(`SELECT count(*)::int AS n FROM ${args.schema}.llamaindex_embedding`)).rows[0].n);
report({
  ms,
  loadMs,
  hnswMs,
  rows,
  detail: { nodesEmbedded: nodes.length },
  settings: { docStoreStrategy: pipeline.docStoreStrategy, embedBatchSize: embedModel.embedBatchSize, transformations: ['OpenAIEmbedding'] },
});
// The stores hold their own pg clients and offer no close(): end the process once stdout is flushed.
await admin.end();
process.stdout.write('', () => process.exit(0));
