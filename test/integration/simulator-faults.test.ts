/** The simulator's scheduled faults (simulator/faults.ts), through the official SDK: by request number, never by chance. */
import OpenAI from 'openai';
import { expect, test } from 'vitest';
import { startSimulator } from '../support/simulator/index.ts';

test('500s, 429 bursts with Retry-After, slow and cut responses land on the scheduled request numbers', async () => {
  const sim = await startSimulator({ schedule: { every5xx: 3, burst429: { every: 5, size: 2, retryAfterMs: 1500 }, cut: { every: 4 }, slow: { every: 7, ms: 100 } } });
  const seen: number[] = [];
  sim.faults!.onRequest((n) => seen.push(n));
  const client = new OpenAI({ apiKey: 'x', baseURL: sim.url, maxRetries: 0 });
  try {
    const outcomes: string[] = [];
    for (let i = 1; i <= 8; i++) {
      const r = await client.embeddings.create({ model: 'text-embedding-3-small', input: [`text ${i}`, `more ${i}`] }).then(
        () => 'ok',
        (e: unknown) => (e instanceof OpenAI.APIError && e.status ? `${e.status}${e.headers?.get?.('retry-after') ? ` retry-after ${e.headers.get('retry-after')}` : ''}` : 'dropped'),
      );
      outcomes.push(r);
    }
    // 3: 500; 4: cut; 5, 6: 429 burst; 7: slow but answered; 8: cut.
    expect(outcomes).toEqual(['ok', 'ok', '500', 'dropped', '429 retry-after 2', '429 retry-after 2', 'ok', 'dropped']);
    expect(seen).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(sim.faults!.stats()).toEqual({ requests: 8, '500': 1, '429': 2, slow: 1, cut: 2, cutInputs: 4 });
    // Cut bodies are billed like answered ones (the provider did the work): 6 answered + 4 cut.
    expect(sim.stats()).toMatchObject({ inputs: 10, byStatus: { '200': 3, '500': 1, '429': 2, cut: 2 } });
  } finally {
    await sim.close();
  }
});

test('without a schedule nothing is injected', async () => {
  const sim = await startSimulator();
  try {
    const client = new OpenAI({ apiKey: 'x', baseURL: sim.url, maxRetries: 0 });
    for (let i = 0; i < 12; i++) await client.embeddings.create({ model: 'text-embedding-3-small', input: `t${i}` });
    expect(sim.faults).toBeUndefined();
    expect(sim.stats().byStatus).toEqual({ '200': 12 });
  } finally {
    await sim.close();
  }
});
