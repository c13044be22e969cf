/**
 * A configured provider's `headers` go with its batch calls too (a gateway's routing or tenant
 * header), not only with its sync embeddings: upload, create and retrieve all carry them.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/schema.ts';
import { createBatchBackend } from '../../src/providers/index.ts';
import { resolveModel } from '../../src/providers/models.ts';
import { writeCorpus } from '../support/corpus.ts';
import { expect, test } from '../support/fixtures.ts';
import { startSimulator } from '../support/simulator/index.ts';

test('a named openai provider sends its configured headers on every batch call', async () => {
  const sim = await startSimulator();
  try {
    const config = parseConfig({ providers: { gw: { kind: 'openai', baseUrl: sim.url, apiKey: 'sk-gw-0123456789abcdef', headers: { 'x-team': 'search' } } } });
    const backend = await createBatchBackend(resolveModel('gw/text-embedding-3-small', 256, {}, config.providers), config);
    const file = join(writeCorpus({}), 'req.jsonl');
    writeFileSync(file, `${JSON.stringify({ custom_id: 'a-0', method: 'POST', url: '/v1/embeddings', body: { model: 'text-embedding-3-small', input: ['hi'], dimensions: 256 } })}\n`);
    const seen: (string | string[] | undefined)[] = [];
    for (const path of ['/v1/files', '/v1/batches'])
      sim.intercept((req, _s, next) => (seen.push(req.headers['x-team']), next()), path);
    const id = await backend.upload(file);
    const batch = await backend.create(id, { embedq_batch: 'b1' });
    sim.intercept((req, _s, next) => (seen.push(req.headers['x-team']), next()), `/v1/batches/${batch.id}`);
    await backend.retrieve(batch.id);
    expect(seen).toEqual(['search', 'search', 'search']);
  } finally {
    await sim.close();
  }
});
