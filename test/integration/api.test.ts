/**
 * The programmatic API (`createEmbedq`, src/index.ts) on the real services: records from an
 * async iterable (more than one job's worth, so the run is sealed after several jobs), files,
 * search with metadata filters, reembed start/status/cutover/rollback, spend, close. The same
 * functions the CLI calls, so this checks the wiring and what records add.
 */
import { inject } from 'vitest';
import { createEmbedq, UsageError, type EmbedqRecord } from '../../src/index.ts';
import { RECORDS_PER_JOB } from '../../src/pipeline/types.ts';
import { prose, writeCorpus } from '../support/corpus.ts';
import { dropNamespace, expect, test, uniqueName } from '../support/fixtures.ts';

async function withApi<T>(fn: (eq: ReturnType<typeof createEmbedq>) => Promise<T>): Promise<T> {
  const { redisUrl, databaseUrl } = inject('services');
  const ns = uniqueName('t');
  // env {}: nothing from this process's environment leaks into the test's settings.
  const eq = createEmbedq({ env: {}, config: { redisUrl, databaseUrl, dbSchema: ns, redisPrefix: ns, logLevel: 'silent', defaultTenant: 'acme' } });
  try {
    return await fn(eq);
  } finally {
    await eq.close();
    await dropNamespace(ns);
  }
}

const N = RECORDS_PER_JOB * 2 + 37;

/** N records, produced one at a time as a database cursor would, plus two bad ones. */
async function* rows(): AsyncGenerator<EmbedqRecord | Record<string, unknown>> {
  for (let i = 0; i < N; i++) {
    if (i === 10) yield { id: 'no-text', text: '   ' };
    if (i === 20) yield { text: 'a record without an id' };
    yield { id: i % 2 ? i : `doc-${i}`, text: `${prose(i, 1)} record ${i}`, metadata: { lang: i % 3 ? 'en' : 'de', n: i } };
  }
}

test('records from an async iterable are indexed across several jobs, searched with filters, and a second ingest skips them', () =>
  withApi(async (eq) => {
    const first = await eq.ingest(rows() as AsyncIterable<EmbedqRecord>, { index: 'kb', chunkTokens: 64, chunkOverlap: 0, source: 'crm' });
    expect(first).toMatchObject({ index: 'kb', documents: N, chunks: N, embedded: N, failedJobs: 0, waited: true });
    expect(first.rejected).toEqual([
      { path: 'crm:11', reason: 'record 11: no text' },
      { path: 'crm:22', reason: expect.stringMatching(/^record 22: missing field "id"/) },
    ]);
    const { rows: docs } = await eq.context.db.query<{ n: number; src: string }>(`SELECT count(*)::int AS n, min(source) AS src FROM documents WHERE tenant = 'acme'`);
    expect(docs[0]).toEqual({ n: N, src: 'crm' });

    const r = await eq.search(`${prose(7, 1)} record 7`, { index: 'kb', k: 3 });
    expect(r.tenant).toBe('acme');
    expect(r.hits[0]).toMatchObject({ docId: '7', source: 'crm', metadata: { lang: 'en', n: 7 } });
    const de = await eq.search(`${prose(7, 1)} record 7`, { index: 'kb', k: 5, filter: { lang: 'de', n: [0, 3, 6, 9, 12, 1] } });
    expect(de.hits.map((h) => h.metadata!.n).sort((a, b) => Number(a) - Number(b))).toEqual([0, 3, 6, 9, 12]);

    // Sync iterables work too; unchanged records cost nothing.
    const again: EmbedqRecord[] = [];
    for await (const x of rows()) if ('id' in x && typeof (x as EmbedqRecord).text === 'string' && (x as EmbedqRecord).text.trim()) again.push(x as EmbedqRecord);
    const second = await eq.ingest(again, { index: 'kb', source: 'crm' });
    expect(second).toMatchObject({ documents: 0, documentsSkipped: N, embedded: 0, rejected: [] });

    await expect(eq.ingest([{ text: 'x' }] as unknown as EmbedqRecord[], { index: 'kb' })).rejects.toThrow(/nothing to ingest: the records hold no valid record \(1 rejected, the first: record 1: missing field "id"/);
    await expect(eq.ingest(rows() as AsyncIterable<EmbedqRecord>, { index: 'kb', mode: 'auto' })).rejects.toThrow(UsageError);
    const spend = await eq.spend({ by: 'tenant' });
    expect(spend.rows.map((x) => x.key)).toEqual(['acme']);
  }), 180_000); // a safety net for a loaded machine, not a bound

test('files, and a reembed started, watched, cut over and rolled back through the API', () =>
  withApi(async (eq) => {
    const dir = writeCorpus(Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`d${i}.md`, prose(i + 3, 4)])));
    const s = await eq.ingest(dir, { index: 'docs', chunkTokens: 48, chunkOverlap: 0 });
    expect(s).toMatchObject({ documents: 5, failedJobs: 0 });
    const started = await eq.reembed.start({ index: 'docs', to: 'local/hash-v1', dims: 64, cutover: false });
    expect(started.migration).toMatchObject({ state: 'ready', targetModel: 'local/hash-v1@1:64' });
    expect((await eq.reembed.status('docs')).coverage).toMatchObject({ ratio: 1 });
    expect((await eq.reembed.cutover('docs')).migration!.state).toBe('cut_over');
    expect((await eq.search('anything', { index: 'docs', k: 1 })).modelVersion).toBe('local/hash-v1@1:64');
    expect((await eq.reembed.rollback('docs')).migration!.state).toBe('rolled_back');
    expect((await eq.search('anything', { index: 'docs', k: 1 })).modelVersion).toBe('local/hash-v1@1:384');
    const { rows: events } = await eq.context.db.query<{ actor: string }>(`SELECT DISTINCT actor FROM reembed_events WHERE to_state IN ('cut_over', 'rolled_back')`);
    expect(events).toEqual([{ actor: 'api' }]);
  }), 180_000);
