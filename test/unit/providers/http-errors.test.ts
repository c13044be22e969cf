/** The message prefix every provider error goes through: no key, no URL credentials. */
import { describe, expect, test } from 'vitest';
import { say } from '../../../src/providers/http-errors.ts';

describe('say', () => {
  const ctx = { name: 'openai/text-embedding-3-small', baseUrl: 'http://127.0.0.1:9/v1', timeoutMs: 1000, apiKey: 'sk-live-0123456789abcdef' };

  test('names the provider and removes the key and key-shaped strings', () => {
    const m = say(ctx, 'rejected key sk-live-0123456789abcdef (also sk-proj-AAAAAAAAAAAA)');
    expect(m.startsWith('openai/text-embedding-3-small: ')).toBe(true);
    expect(m).not.toMatch(/0123456789abcdef|AAAAAAAAAAAA/);
  });

  test('removes the password of any URL it quotes (fetch quotes a base URL with credentials whole)', () => {
    const m = say(ctx, 'Request cannot be constructed from a URL that includes credentials: http://user:hunter2@proxy.local:8080/v1/embeddings');
    expect(m).not.toContain('hunter2');
    expect(m).toContain('proxy.local:8080');
  });
});
