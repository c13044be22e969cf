/** The probe through the real binary: its one-line notice goes to stderr, never into --json stdout. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';
import { runCli } from '../support/cli.ts';
import { prose, writeCorpus } from '../support/corpus.ts';
import { dropNamespace, expect, test, uniqueName } from '../support/fixtures.ts';
import { startSimulator } from '../support/simulator/index.ts';

const services = inject('services');

test('ingest --json probes an openai-compatible model once: the notice on stderr, stdout one JSON document', { timeout: 180_000 }, async () => {
  const tei = await startSimulator({ defaultDims: 256 });
  const schema = uniqueName('e2e');
  const file = join(mkdtempSync(join(tmpdir(), 'embedq-probe-')), 'embedq.config.json');
  writeFileSync(file, JSON.stringify({ providers: { tei: { kind: 'openai-compatible', baseUrl: tei.url, models: { 'bge-small': {} } } } }));
  const env = { REDIS_URL: services.redisUrl, DATABASE_URL: services.databaseUrl, EMBEDQ_DB_SCHEMA: schema, EMBEDQ_REDIS_PREFIX: schema, EMBEDQ_CONFIG: file };
  const cli = (args: string[]) => runCli(args, env, { timeoutMs: 170_000 });
  try {
    expect((await cli(['db', 'migrate'])).code).toBe(0);
    const listed = await cli(['models', '--kind', 'openai-compatible']);
    expect(listed.stdout).toMatch(/tei\/bge-small\s+openai-compatible\s+probed on first use/);

    const r = await cli(['ingest', writeCorpus({ 'a.md': prose(1, 6) }), '--index', 'probed', '--model', 'tei/bge-small', '--json']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('embedq: probed tei/bge-small: 256 dims\n');
    const first = JSON.parse(r.stdout) as { modelVersion: string; embedded: number };
    expect(first.modelVersion).toBe('tei/bge-small@1:256');

    const again = await cli(['ingest', writeCorpus({ 'b.md': prose(2, 6) }), '--index', 'probed2', '--model', 'tei/bge-small', '--json']);
    expect(again.code).toBe(0);
    expect(again.stderr).toBe('');
    // One probe input, then only the two runs' own.
    expect(tei.stats().log[0]).toMatchObject({ inputs: 1, status: 200 });
    expect(tei.stats().inputs).toBe(1 + first.embedded + (JSON.parse(again.stdout) as { embedded: number }).embedded);
  } finally {
    await tei.close();
    await dropNamespace(schema);
  }
});
