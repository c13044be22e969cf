import { inject } from 'vitest';
import pg from 'pg';
import { runCli } from '../support/cli.ts';
import { writeCorpus } from '../support/corpus.ts';
import { describe, dropNamespace, expect, test, uniqueName } from '../support/fixtures.ts';

const services = inject('services');

function envFor(schema: string) {
  return { REDIS_URL: services.redisUrl, DATABASE_URL: services.databaseUrl, EMBEDQ_DB_SCHEMA: schema, EMBEDQ_REDIS_PREFIX: schema };
}


describe('embedq CLI (foundation)', () => {
  test('db migrate twice: the second run applies nothing; status --json is valid JSON', async () => {
    const schema = uniqueName('e2e');
    try {
      const first = await runCli(['db', 'migrate', '--json'], envFor(schema));
      expect(first.code).toBe(0);
      expect(JSON.parse(first.stdout).applied.length).toBeGreaterThan(0);
      const second = await runCli(['db', 'migrate'], envFor(schema));
      expect(second.code).toBe(0);
      expect(second.stdout).toMatch(/up to date .* nothing to do/);
      const status = await runCli(['status', '--json'], envFor(schema));
      expect(status.code).toBe(0);
      const parsed = JSON.parse(status.stdout);
      expect(parsed.postgres.schema).toBe(schema);
      expect(parsed.postgres.pendingMigrations).toEqual([]);
      expect(parsed.postgres.pgvector).toMatch(/^\d+\.\d+/);
    } finally {
      await dropNamespace(schema);
    }
  });

  test('a command on a schema never migrated says to run db migrate, exit 2, instead of a raw "relation does not exist"', async () => {
    const schema = uniqueName('e2e');
    for (const args of [['batches', 'list'], ['keys', 'list'], ['log']]) {
      const r = await runCli(args, envFor(schema));
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      expect(r.stderr.trim()).toMatch(new RegExp(`^embedq: the database schema ${schema} has not been migrated \\(no table \\w+\\): run \`embedq db migrate\` first$`));
    }
  });

  test('Redis down: one line naming Redis and the URL without its password, exit 1', async () => {
    const r = await runCli(['status'], { ...envFor('x'), REDIS_URL: 'redis://:s3cret@127.0.0.1:1' });
    expect(r.code).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^embedq: Redis is not reachable at redis:\/\/:\*\*\*@127\.0\.0\.1:1: connection refused/);
    expect(r.stderr + r.stdout).not.toContain('s3cret');
  });

  test('Postgres down or wrong: one clear line, exit 1', async () => {
    const down = await runCli(['status'], { ...envFor('x'), DATABASE_URL: 'postgres://embedq:pw@127.0.0.1:1/embedq' });
    expect(down.code).toBe(1);
    expect(down.stderr.trim()).toMatch(/^embedq: Postgres is not reachable at postgres:\/\/embedq:\*\*\*@127\.0\.0\.1:1\/embedq: connection refused/);
    const url = new URL(services.databaseUrl);
    url.pathname = '/no_such_db_embedq';
    const nodb = await runCli(['db', 'migrate'], { ...envFor('x'), DATABASE_URL: url.toString() });
    expect(nodb.code).toBe(1);
    expect(nodb.stderr.trim()).toMatch(/the database does not exist/);
  });

  test('a database without pgvector is named as such', async () => {
    const c = new pg.Client(services.databaseUrl);
    await c.connect();
    const db = uniqueName('novec');
    // A fresh database (template0: no extensions) reached by a non-superuser role without CREATE
    // on it: CREATE EXTENSION vector fails there, as it does on a server without pgvector.
    await c.query(`CREATE DATABASE ${db} TEMPLATE template0`);
    await c.query(`CREATE ROLE ${db} LOGIN`);
    await c.query(`REVOKE ALL ON DATABASE ${db} FROM PUBLIC`);
    await c.query(`GRANT CONNECT ON DATABASE ${db} TO ${db}`);
    try {
      const url = new URL(services.databaseUrl);
      url.username = db;
      url.pathname = `/${db}`;
      const r = await runCli(['db', 'migrate'], { ...envFor('x'), DATABASE_URL: url.toString() });
      expect(r.code).toBe(1);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/pgvector is not available in this database/);
    } finally {
      await c.query(`DROP DATABASE ${db}`);
      await c.query(`DROP ROLE ${db}`);
      await c.end();
    }
  });

  test('a config file with a typo: clear error naming the key, exit 1; usage errors exit 2', async () => {
    const dir = writeCorpus({ 'embedq.config.json': JSON.stringify({ chunk: { tokns: 100 } }) });
    const r = await runCli(['status'], envFor('x'), { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/embedq\.config\.json: chunk\.tokns: unknown setting \(did you mean "chunk\.tokens"\?\)/);
    const usage = await runCli(['no-such-command'], envFor('x'));
    expect(usage.code).toBe(2);
    const help = await runCli(['--help'], envFor('x'));
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/db/);
  });
});
