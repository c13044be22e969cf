import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { runCli } from '../support/cli.ts';

// Unreachable services: `models` must not need them.
const NO_SERVICES = { REDIS_URL: 'redis://127.0.0.1:1', DATABASE_URL: 'postgres://embedq@127.0.0.1:1/embedq' };

describe('embedq models', () => {
  test('lists the catalogue with dims, prices, batch support and input types, without Redis or Postgres', async () => {
    const r = await runCli(['models', '--json'], NO_SERVICES);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.stdout) as { id: string | null; kind: string; model: string; nativeDims: number; batchApi: boolean; inputTypes: boolean; priceBatchPerMTok: number | null }[];
    expect(rows.find((x) => x.id === 'openai/text-embedding-3-small')).toMatchObject({ kind: 'openai', nativeDims: 1536, batchApi: true, inputTypes: false, priceBatchPerMTok: 0.01 });
    expect(rows.find((x) => x.id === 'cohere/embed-v4.0')).toMatchObject({ batchApi: true, inputTypes: true });
    // Catalogue rows of kinds no provider is configured for have no id yet.
    expect(rows.find((x) => x.kind === 'voyage' && x.model === 'voyage-3.5')).toMatchObject({ id: null, nativeDims: 1024, inputTypes: true, batchApi: true, priceBatchPerMTok: 0.04 });
    expect(rows.find((x) => x.kind === 'mistral' && x.model === 'mistral-embed')).toMatchObject({ batchApi: true, priceBatchPerMTok: 0.05 });
    // Gemini's batch embeddings are experimental in its SDK: not driven (docs/providers.md).
    expect(rows.find((x) => x.kind === 'gemini')).toMatchObject({ batchApi: false });
    expect(rows.find((x) => x.kind === 'jina')).toMatchObject({ batchApi: false });
    const text = await runCli(['models'], NO_SERVICES);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/openai\/text-embedding-3-small\s+openai\s+1536: 1-1536/);
    expect(text.stdout).toMatch(/served once a provider of their kind is configured/);
  });

  test('--help teaches the columns and where the figures come from', async () => {
    const r = await runCli(['models', '--help'], NO_SERVICES);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/zero-padded/);
    expect(r.stdout).toMatch(/catalogue\.ts, each with its source and date/);
  });

  test('a config override shows in the listing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'embedq-models-'));
    const file = join(dir, 'embedq.config.json');
    writeFileSync(file, JSON.stringify({ models: { 'openai/text-embedding-3-small': { priceSyncPerMTok: 0.5 } } }));
    const r = await runCli(['models', '--json', '--kind', 'openai'], { ...NO_SERVICES, EMBEDQ_CONFIG: file });
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.stdout) as { id: string; priceSyncPerMTok: number }[];
    expect(rows.every((x) => x.id.startsWith('openai/'))).toBe(true);
    expect(rows.find((x) => x.id === 'openai/text-embedding-3-small')!.priceSyncPerMTok).toBe(0.5);
  });

  test('configured providers list their models under their own names', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'embedq-models-'));
    const file = join(dir, 'embedq.config.json');
    const tei = { kind: 'openai-compatible', baseUrl: 'http://127.0.0.1:8080/v1', models: { 'bge-m3': { nativeDims: 1024, maxInputTokens: 8192, maxInputsPerRequest: 32, maxTokensPerRequest: 16384 } } };
    writeFileSync(file, JSON.stringify({ providers: { voyage: { kind: 'voyage', models: { 'voyage-3.5': { priceSyncPerMTok: 0.05 } } }, tei } }));
    const r = await runCli(['models', '--json'], { ...NO_SERVICES, EMBEDQ_CONFIG: file });
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.stdout) as { id: string | null; kind: string; provider: string | null; priceSyncPerMTok: number; nativeDims: number }[];
    expect(rows.find((x) => x.id === 'voyage/voyage-3.5')).toMatchObject({ provider: 'voyage', kind: 'voyage', priceSyncPerMTok: 0.05 });
    expect(rows.find((x) => x.id === 'tei/bge-m3')).toMatchObject({ kind: 'openai-compatible', nativeDims: 1024 });
    expect(rows.some((x) => x.kind === 'voyage' && x.id === null)).toBe(false);
    // A typo is one line naming where it is.
    writeFileSync(file, JSON.stringify({ providers: { tei: { ...tei, models: { 'bge-m3': { ...tei.models['bge-m3'], nativeDim: 1 } } } } }));
    const bad = await runCli(['models'], { ...NO_SERVICES, EMBEDQ_CONFIG: file });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr.trim().split('\n')).toEqual([expect.stringMatching(/providers\.tei\.models\.bge-m3\.nativeDim: unknown setting \(did you mean "providers\.tei\.models\.bge-m3\.nativeDims"\?\)$/)]);
  });
});
