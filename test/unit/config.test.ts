import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { loadConfig } from '../../src/config/load.ts';
import { maskSecret, redactUrl } from '../../src/config/redact.ts';
import { parseConfig } from '../../src/config/schema.ts';
import { entropyBits, strongSecret } from '../../src/config/secrets.ts';
import { ConfigError } from '../../src/errors.ts';
import { writeCorpus } from '../support/corpus.ts';

describe('parseConfig', () => {
  test('fills defaults and freezes the result', () => {
    const c = parseConfig({});
    expect(c.defaultModel).toBe('local/hash-v1');
    expect(c.redisUrl).toBe('redis://127.0.0.1:56379');
    expect(c.chunk.tokens).toBe(512);
    expect(Object.isFrozen(c) && Object.isFrozen(c.chunk)).toBe(true);
  });

  test('collects every problem at once, naming key and expected form', () => {
    let err: unknown;
    try {
      parseConfig({ redisUrl: 'http://x', chunk: { tokens: -3 }, invalidUtf8: 'maybe' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const problems = (err as ConfigError).problems;
    expect(problems).toHaveLength(3);
    expect(problems.join('\n')).toMatch(/redisUrl: expected a URL starting with redis:\/\/ or rediss:\/\/, got "http:\/\/x"/);
    expect(problems.join('\n')).toMatch(/chunk\.tokens: expected a number > 0, got "-3"/);
    expect(problems.join('\n')).toMatch(/invalidUtf8: expected one of "reject", "replace"/);
  });

  test('rejects unknown keys with a suggestion', () => {
    expect(() => parseConfig({ chunk: { tokns: 5 } })).toThrow(/chunk\.tokns: unknown setting \(did you mean "chunk\.tokens"\?\)/);
    expect(() => parseConfig({ zzzzzzzzzz: 1 })).toThrow(/zzzzzzzzzz: unknown setting$/);
  });

  test('never echoes a secret value in an error', () => {
    try {
      parseConfig({ openai: { apiKey: 42 } });
      expect.unreachable();
    } catch (e) {
      expect((e as Error).message).toMatch(/openai\.apiKey: expected string/);
      expect((e as Error).message).not.toMatch(/42/);
    }
  });
});

describe('loadConfig', () => {
  test('environment wins over the file, and errors name where a value came from', () => {
    const file = join(writeCorpus({ 'embedq.config.json': JSON.stringify({ redisPrefix: 'fromfile', chunk: { overlap: 10 } }) }), 'embedq.config.json');
    const c = loadConfig({ file, env: { EMBEDQ_REDIS_PREFIX: 'fromenv', OPENAI_API_KEY: 'sk-test' } });
    expect(c.redisPrefix).toBe('fromenv');
    expect(c.chunk.overlap).toBe(10);
    expect(c.openai.apiKey).toBe('sk-test');
    expect(() => loadConfig({ file, env: { DATABASE_URL: 'mysql://x' } })).toThrow(/environment DATABASE_URL: expected a URL starting with postgres/);
  });

  test('a config file with a typo or bad JSON gives a clear error', () => {
    const dir = writeCorpus({ 'typo.json': JSON.stringify({ defaultModle: 'x' }), 'bad.json': '{ nope' });
    const typo = join(dir, 'typo.json');
    expect(() => loadConfig({ file: typo, env: {} })).toThrow(/config file .*typo\.json: defaultModle: unknown setting \(did you mean "defaultModel"\?\)/);
    const bad = join(dir, 'bad.json');
    expect(() => loadConfig({ file: bad, env: {} })).toThrow(/not valid JSON/);
    expect(() => loadConfig({ file: join(dir, 'missing.json'), env: {} })).toThrow(/cannot be read \(ENOENT\)/);
  });
});

describe('admin and metrics tokens', () => {
  test('a token needs 16 characters and 64 bits of entropy: 16 spaces, one repeated character or a short word are refused, unquoted', () => {
    for (const weak of [' '.repeat(16), 'a'.repeat(40), 'aaaaaaaaaaaaaaab', 'abababababababababab', 'short-secret']) {
      expect(strongSecret(weak), JSON.stringify(weak)).toBe(false);
      for (const key of ['adminToken', 'metricsToken']) {
        let err: unknown;
        try {
          loadConfig({ env: { [key === 'adminToken' ? 'EMBEDQ_ADMIN_TOKEN' : 'EMBEDQ_METRICS_TOKEN']: weak, EMBEDQ_CONFIG: undefined }, file: undefined });
        } catch (e) {
          err = e;
        }
        expect(err, `${key} ${JSON.stringify(weak)}`).toBeInstanceOf(ConfigError);
        expect((err as Error).message).toMatch(/: expected a secret of at least 16 characters and 64 bits of entropy/);
        expect((err as Error).message).not.toContain(weak.trim() || '"                "');
      }
    }
    expect(entropyBits('0123456789abcdef')).toBeCloseTo(64, 9);
    for (const ok of ['0123456789abcdef', 'test-admin-token-0123456789abcdef', 'e2e-dashboard-token-0123456789', 'c0ffee15deadbeefcafe0123456789ab']) expect(strongSecret(ok), ok).toBe(true);
    expect(parseConfig({ adminToken: 'test-admin-token-0123456789abcdef' }).adminToken).toBe('test-admin-token-0123456789abcdef');
  });
});

describe('redaction', () => {
  test('removes passwords from URLs and masks secrets', () => {
    expect(redactUrl('redis://:hunter2@127.0.0.1:6379')).toBe('redis://:***@127.0.0.1:6379');
    expect(redactUrl('postgres://u:hunter2@db:5432/x')).toBe('postgres://u:***@db:5432/x');
    expect(redactUrl('postgres://u@db/x')).toBe('postgres://u@db/x');
    expect(maskSecret('sk-abcdefghijklmnop')).toBe('***mnop');
    expect(maskSecret(undefined)).toBeNull();
  });
});
