import { expect, test } from 'vitest';
import { UsageError } from '../../src/errors.ts';
import { resolveMode } from '../../src/pipeline/mode.ts';

const never = () => {
  throw new Error('large() must not be asked');
};

test('resolveMode: sync stays sync, batch needs a provider with a batch API', async () => {
  expect(await resolveMode('sync', 'openai/text-embedding-3-small@1:1536', never)).toBe('sync');
  expect(await resolveMode('batch', 'openai/text-embedding-3-small@1:1536', never)).toBe('batch');
  expect(await resolveMode('batch', 'cohere/embed-english-v3.0@1:1024', never)).toBe('batch');
  await expect(resolveMode('batch', 'local/hash-v1@1:384', never)).rejects.toThrow(UsageError);
  await expect(resolveMode('batch', 'local/hash-v1@1:384', never)).rejects.toThrow('local/hash-v1@1:384 has no batch API embedq can use (local models run in this process); batch mode needs a provider of kind openai, cohere, voyage, mistral; use --mode sync');
});

test('resolveMode: auto is batch only where the provider has a batch API and the work is large', async () => {
  expect(await resolveMode('auto', 'local/hash-v1@1:384', never)).toBe('sync');
  expect(await resolveMode('auto', 'cohere/embed-english-v3.0@1:1024', () => true)).toBe('batch');
  expect(await resolveMode('auto', 'openai/text-embedding-3-small@1:1536', async () => false)).toBe('sync');
});

test('resolveMode: configured Voyage and Mistral providers batch; Gemini and Jina say why they cannot', async () => {
  const providers = { vo: { kind: 'voyage', models: {} }, mi: { kind: 'mistral', models: {} }, gem: { kind: 'gemini', models: {} }, jn: { kind: 'jina', models: {} } } as const;
  expect(await resolveMode('batch', 'vo/voyage-3.5@1:1024', never, providers)).toBe('batch');
  expect(await resolveMode('auto', 'mi/mistral-embed@1:1024', () => true, providers)).toBe('batch');
  await expect(resolveMode('batch', 'gem/gemini-embedding-001@1:768', never, providers)).rejects.toThrow(/\(Gemini's batch embeddings are experimental in @google\/genai/);
  await expect(resolveMode('batch', 'jn/jina-embeddings-v3@1:1024', never, providers)).rejects.toThrow(/\(Jina documents no batch API\)/);
  expect(await resolveMode('auto', 'gem/gemini-embedding-001@1:768', never, providers)).toBe('sync');
});
