/**
 * LangChain.js's indexing API, as its docs show it: `index()` (in LangChain.js v1 it lives in
 * `@langchain/core/indexing`; the `langchain` package no longer exports it) with
 * `@langchain/community`'s PostgresRecordManager and PGVectorStore, and `@langchain/openai`'s
 * OpenAIEmbeddings pointed at the provider simulator by `configuration.baseURL`.
 *
 * One Document per corpus record (the records are already chunk-sized, so no splitter), its id in
 * `metadata.source` (the docs' `sourceIdKey`).
 *
 *   --config defaults   index()'s defaults: batchSize 100, no cleanup; OpenAIEmbeddings' batchSize
 *                       512 and maxConcurrency 2; PGVectorStore's chunkSize 500.
 *   --config best       cleanup "incremental" with sourceIdKey "source" (a changed document replaces
 *                       its old vectors instead of sitting beside them), and the batch sizes that
 *                       were fastest here (see BEST).
 *   --hnsw              then PGVectorStore.createHnswIndex({ dimensions }), timed separately.
 */
import { index, type IndexOptions } from '@langchain/core/indexing';
import { Document } from '@langchain/core/documents';
import { PostgresRecordManager } from '@langchain/community/indexes/postgres';
import { PGVectorStore } from '@langchain/community/vectorstores/pgvector';
import { OpenAIEmbeddings } from '@langchain/openai';
import pg from 'pg';
import { readCorpus } from './corpus.ts';
import { report, runnerArgs } from './runner-common.ts';

/**
 * "best": the fastest batch sizes of a sweep on this machine (index() batch, OpenAIEmbeddings batch,
 * PGVectorStore insert chunk); the PEERS_LC_* variables override them for another sweep.
 */
const BEST = {
  batchSize: Number(process.env.PEERS_LC_BATCH ?? 1000),
  embedBatchSize: Number(process.env.PEERS_LC_EMBED_BATCH ?? 1000),
  chunkSize: Number(process.env.PEERS_LC_CHUNK ?? 1000),
  cleanup: (process.env.PEERS_LC_CLEANUP ?? 'incremental') as 'incremental' | 'full' | 'none',
};

const args = runnerArgs();
const t0 = performance.now();
const docs = (await readCorpus(args.corpus)).map((r) => new Document({ pageContent: r.text, metadata: { source: r.id } }));

const postgresConnectionOptions = { connectionString: args.databaseUrl };
const admin = new pg.Client(postgresConnectionOptions);
await admin.connect();
await admin.query(`CREATE SCHEMA IF NOT EXISTS ${args.schema}`);

const embeddingsFields = { model: 'text-embedding-3-small', apiKey: args.apiKey, configuration: { baseURL: args.baseURL } };
const embeddings = new OpenAIEmbeddings(args.config === 'best' ? { ...embeddingsFields, batchSize: BEST.embedBatchSize } : embeddingsFields);
const storeConfig = {
  postgresConnectionOptions,
  schemaName: args.schema,
  tableName: 'langchain_pg_embedding',
  distanceStrategy: 'cosine' as const,
  dimensions: args.dims,
  ...(args.config === 'best' ? { chunkSize: BEST.chunkSize } : {}),
};
const vectorStore = await PGVectorStore.initialize(embeddings, storeConfig);
const recordManager = new PostgresRecordManager('bench', { postgresConnectionOptions, schema: args.schema, tableName: 'upsertion_records' });
await recordManager.createSchema();

const options: IndexOptions =
  args.config === 'best' ? { ...(BEST.cleanup === 'none' ? {} : { cleanup: BEST.cleanup }), sourceIdKey: 'source', batchSize: BEST.batchSize } : {};
const result = await index({ docsSource: docs, recordManager, vectorStore, options });
const loadMs = performance.now() - t0;

let hnswMs = 0;
if (args.hnsw) {
  const t = performance.now();
  await vectorStore.createHnswIndex({ dimensions: args.dims });
  hnswMs = performance.now() - t;
  // createHnswIndex logs and swallows its errors: make sure the index is there.
  const { rows } = await admin.query(`SELECT count(*)::int AS n FROM pg_indexes WHERE schemaname = $1 AND indexdef ILIKE '%USING hnsw%'`, [args.schema]);
  if (rows[0].n !== 1) throw new Error('PGVectorStore.createHnswIndex did not create an HNSW index (see its log above)');
}
const ms = performance.now() - t0;
const rows = Number((await admin.query(`SELECT count(*)::int AS n FROM ${args.schema}.langchain_pg_embedding`)).rows[0].n);
await Promise.all([vectorStore.end(), recordManager.end(), admin.end()]);
report({
  ms,
  loadMs,
  hnswMs,
  rows,
  detail: result,
  settings: { index: options, embeddings: { batchSize: embeddings.batchSize, maxConcurrency: (embeddings.caller as unknown as { maxConcurrency: number }).maxConcurrency }, vectorStore: { chunkSize: vectorStore.chunkSize } },
});
