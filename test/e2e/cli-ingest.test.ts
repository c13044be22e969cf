import { join } from 'node:path';
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

/** The real binary, with a generous safety net for a loaded machine (each run is an end state, never raced). */
const cli = (args: string[], env: Record<string, string | undefined>) => runCli(args, env, { timeoutMs: 170_000 });

test('numeric flags are integers or refused with exit 2, before the command runs', { timeout: 180_000 }, async () => {
  const dir = writeCorpus({ 'a.md': prose(2, 3) });
  const cases = [
    [['ingest', dir, '--index', 'nums', '--dims', '12abc'], '--dims must be an integer of at least 1 (digits only, e.g. 10), got "12abc"'],
    [['ingest', dir, '--index', 'nums', '--dims', '1e3'], '--dims must be an integer of at least 1 (digits only, e.g. 10), got "1e3"'],
    [['search', 'q', '--index', 'nums', '-k', '5abc'], '-k must be an integer from 1 to 1000 (digits only, e.g. 10), got "5abc"'],
  ] as const;
  // A usage error stops before the command touches any service: none is needed here.
  const results = await Promise.all(cases.map(([args]) => cli([...args], { REDIS_URL: 'redis://127.0.0.1:1', DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' })));
  results.forEach((r, i) => {
    expect(r.code, cases[i]![0].join(' ')).toBe(2);
    expect(r.stderr).toContain(cases[i]![1]);
  });
});

test('nothing readable exits 1 with the rejections and creates nothing', { timeout: 180_000 }, async () => {
  const schema = uniqueName('e2e');
  const env = { REDIS_URL: services.redisUrl, DATABASE_URL: services.databaseUrl, EMBEDQ_DB_SCHEMA: schema, EMBEDQ_REDIS_PREFIX: schema };
  const dir = writeCorpus({ 'a.md': prose(3, 3), 'only/image.png': 'png', 'blank/empty.md': '' });
  try {
    expect((await cli(['db', 'migrate'], env)).code).toBe(0);
    const [nothing, json] = await Promise.all([
      cli(['ingest', join(dir, 'missing.md'), join(dir, '*.pdf'), join(dir, 'only'), '/dev/zero', '--index', 'none'], env),
      cli(['ingest', join(dir, 'missing.md'), '--index', 'none', '--json'], env),
    ]);
    expect(nothing.code).toBe(1);
    expect(nothing.stderr).toContain('nothing to ingest: none of the inputs gave a file to read (4 rejected); no index or run was created');
    expect(nothing.stderr).toContain(`${join(dir, 'missing.md')}: not found`);
    expect(nothing.stderr).toContain(`${join(dir, '*.pdf')}: no files match this pattern`);
    expect(nothing.stderr).toMatch(/\/dev\/zero: under \/dev, a pseudo-filesystem/);
    expect(nothing.stderr).toContain(`${join(dir, 'only')}: no supported files in this folder (.txt .md`);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, rejected: [{ path: join(dir, 'missing.md'), reason: 'not found' }] });

    // Files to read, but every one rejected by its reader: the run fails too.
    const blank = await cli(['ingest', join(dir, 'blank'), '--index', 'blank'], env);
    expect(blank.code).toBe(1);
    expect(blank.stdout).toContain(`${join(dir, 'blank', 'empty.md')}: empty file`);
    expect(blank.stdout).toContain('NOTHING   was indexed: every document was rejected');

    expect((await cli(['ingest', '--help'], env)).stdout).toContain('--follow-symlinks');
  } finally {
    await dropNamespace(schema);
  }
});

test('a missing OPENAI_API_KEY exits 1 before anything is created or enqueued, also with --no-wait', { timeout: 180_000 }, async () => {
  const schema = uniqueName('e2e');
  const env = { REDIS_URL: services.redisUrl, DATABASE_URL: services.databaseUrl, EMBEDQ_DB_SCHEMA: schema, EMBEDQ_REDIS_PREFIX: schema, OPENAI_API_KEY: undefined, OPENAI_BASE_URL: undefined };
  const dir = writeCorpus({ 'a.md': prose(3, 3) });
  try {
    expect((await cli(['db', 'migrate'], env)).code).toBe(0);
    const keyless = await cli(['ingest', dir, '--index', 'paid', '--model', 'openai/text-embedding-3-small', '--no-wait'], env);
    expect(keyless.code).toBe(1);
    expect(keyless.stderr).toMatch(/OPENAI_API_KEY is not set/);
    const status = JSON.parse((await cli(['status', '--json'], env)).stdout);
    expect(status.indexes).toEqual([]);
    expect(status.queues.ingest).toMatchObject({ waiting: 0, active: 0, failed: 0 });
  } finally {
    await dropNamespace(schema);
  }
});
