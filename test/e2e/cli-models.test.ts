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
    expect(rows.find((x) => x.kind === 'voyage' && x.model === 'voyage-3.5')).toMatchObject({ id: null, nativeDims: 1024, inputTypes: true });
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
});
