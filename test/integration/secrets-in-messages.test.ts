/**
 * Secrets never reach a message: a malformed DATABASE_URL/REDIS_URL is quoted without its
 * password (stderr and --json), a base URL with credentials is refused at start naming the key,
 * and should one reach a worker anyway, the job's failedReason and stacktrace in Redis, the
 * ledger's error and the logs carry no password.
 */
import { Queue } from 'bullmq';
import { runIngest } from '../../src/cli/commands/ingest.ts';
import { redactUrl, redactUrls } from '../../src/config/redact.ts';
import { createContext } from '../../src/context.ts';
import { createLogger } from '../../src/logger.ts';
import { migrate } from '../../src/store/migrate.ts';
import { runCli } from '../support/cli.ts';
import { prose, writeCorpus } from '../support/corpus.ts';
import { describe, dropIsolated, expect, test, testConfig } from '../support/fixtures.ts';

const services = (config: { redisUrl: string; databaseUrl: string; dbSchema: string }) => ({ REDIS_URL: config.redisUrl, DATABASE_URL: config.databaseUrl, EMBEDQ_DB_SCHEMA: config.dbSchema });

describe('secrets in messages', () => {
  // One binary per test: each start takes seconds on a loaded machine.
  test.for([
    ['DATABASE_URL', 'postgres://u:hunter2@'],
    ['REDIS_URL', 'redis://:hunter2@'],
    ['DATABASE_URL', 'postgres://u:hun/ter2@db:notaport/x'],
    ['DATABASE_URL', 'mysql://u:hunter2@db/x'],
  ] as const)('a malformed %s (%s) is quoted without its password, on stderr and in --json', async ([key, value], { config }) => {
    {
      const r = await runCli(['status', '--json'], { ...services(config), [key]: value });
      expect(r.code, `${key}=${value}`).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`environment ${key}: expected a URL starting with .*, got "[a-z]+://u?:\\*\\*\\*@`));
      expect(JSON.parse(r.stdout)).toEqual({ ok: false, error: expect.stringContaining(`environment ${key}`) });
      for (const out of [r.stderr, r.stdout]) expect(out).not.toMatch(/hunter2|hun\/ter2/);
    }
  });

  test.for([
    ['OPENAI_BASE_URL', 'OPENAI_API_KEY'],
    ['COHERE_BASE_URL', 'COHERE_API_KEY'],
  ] as const)('%s with user:password@ is refused at start, naming the key; the password appears nowhere', async ([key, apiKey], { config }) => {
    {
      const r = await runCli(['status', '--json'], { ...services(config), [key]: 'https://u:pw@host/v1' });
      expect(r.code).toBe(1);
      expect(r.stderr.trim()).toBe(`embedq: environment ${key}: expected a URL without user:password@ (give the key in ${apiKey}; it is sent as a bearer token), got "https://u:***@host/v1"`);
      for (const out of [r.stderr, r.stdout]) expect(out).not.toMatch(/pw/);
    }
  });

  test('a base URL with credentials that reaches a worker anyway: failedReason, stacktrace and ledger error carry no password', async () => {
    const base = testConfig();
    const config = { ...base, openai: { baseUrl: 'http://u:pw-s3cr3t@127.0.0.1:1/v1', apiKey: 'sk-test-0123456789' }, worker: { ...base.worker, embedAttempts: 1, providerAttempts: 1 } };
    const logger = createLogger('silent');
    const ctx = createContext(config, { logger });
    await migrate(ctx.db, config.dbSchema);
    try {
      const r = await runIngest(ctx, { paths: [writeCorpus({ 'a.txt': prose(1, 4) })], index: 'leaky', model: 'openai/text-embedding-3-small', dims: 64 });
      expect(r.failedJobs).toBe(1);
      const q = new Queue('embed', { connection: ctx.redis, prefix: config.redisPrefix });
      const [job] = await q.getFailed();
      await q.close();
      expect(job!.failedReason).toMatch(/u:\*\*\*@127\.0\.0\.1:1/);
      const stored = JSON.stringify({ reason: job!.failedReason, stack: job!.stacktrace });
      expect(stored).not.toContain('pw-s3cr3t');
      const { rows } = await ctx.db.query<{ error: string | null }>(`SELECT error FROM ledger WHERE error IS NOT NULL`);
      expect(rows.length).toBeGreaterThan(0);
      for (const row of rows) expect(row.error).not.toContain('pw-s3cr3t');
      expect(JSON.stringify(r)).not.toContain('pw-s3cr3t');
    } finally {
      await dropIsolated(ctx);
      await ctx.close();
    }
  });

  test('redactUrls: every URL in a text, malformed ones too, and secret query parameters', () => {
    expect(redactUrls('at postgres://u:hunter2@ and redis://:pw@127.0.0.1:1: refused')).toBe('at postgres://u:***@ and redis://:***@127.0.0.1:1: refused');
    expect(redactUrls('"postgres://u:p@ss@host/db"')).toBe('"postgres://u:***@host/db"');
    expect(redactUrls('postgres://u:hun/ter2@host/db')).toBe('postgres://u:***@host/db');
    expect(redactUrls('postgres://u@host/db?sslmode=require&password=hunter2')).toBe('postgres://u@host/db?sslmode=require&password=***');
    expect(redactUrls('GET https://host/a/@b?q=1 ok')).toBe('GET https://host/a/@b?q=1 ok');
    expect(redactUrl('postgres://u@db/x?password=zz')).toBe('postgres://u@db/x?password=***');
  });
});
