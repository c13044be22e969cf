import { inject } from 'vitest';
import { runCli } from '../support/cli.ts';
import { prose, writeCorpus } from '../support/corpus.ts';
import { dropNamespace, expect, test, uniqueName } from '../support/fixtures.ts';

const services = inject('services');

test('ingest --json, search --json and status through the real binary', async () => {
  const schema = uniqueName('e2e');
  const env = { REDIS_URL: services.redisUrl, DATABASE_URL: services.databaseUrl, EMBEDQ_DB_SCHEMA: schema, EMBEDQ_REDIS_PREFIX: schema };
  const dir = writeCorpus({ 'a.md': `# Alpha\n\n${prose(1, 12)}`, 'b.txt': 'The amber otter juggles violet marbles beside the harbour.', 'bad.jsonl': '{oops' });
  try {
    expect((await runCli(['db', 'migrate'], env)).code).toBe(0);
    const bad = await runCli(['ingest', dir, '--index', 'Bad-Name'], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/index name "Bad-Name" is not a safe identifier/);

    const r = await runCli(['ingest', dir, '--index', 'e2e_docs', '--json'], env);
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout);
    for (const k of ['documents', 'documentsSkipped', 'chunks', 'cacheHits', 'embedded', 'tokens', 'costUsd', 'rejected', 'durationMs']) expect(s).toHaveProperty(k);
    expect(s.documents).toBe(2);
    expect(s.rejected).toEqual([{ path: expect.stringMatching(/bad\.jsonl:1$/), reason: expect.stringMatching(/not valid JSON/) }]);

    const again = JSON.parse((await runCli(['ingest', dir, '--index', 'e2e_docs', '--json'], env)).stdout);
    expect(again).toMatchObject({ documents: 0, documentsSkipped: 2, embedded: 0 });

    const found = await runCli(['search', 'amber otter juggles marbles', '--index', 'e2e_docs', '-k', '2', '--json'], env);
    expect(found.code).toBe(0);
    const hits = JSON.parse(found.stdout).hits;
    expect(hits[0].text).toContain('amber otter');

    const status = JSON.parse((await runCli(['status', '--json'], env)).stdout);
    expect(status.indexes).toEqual([expect.objectContaining({ name: 'e2e_docs', modelVersion: 'local/hash-v1@1:384', dims: 384 })]);
    expect(status.queues.embed.failed).toBe(0);

    const missing = await runCli(['search', 'x', '--index', 'nope'], env);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/index nope does not exist/);
  } finally {
    await dropNamespace(schema);
  }
});
