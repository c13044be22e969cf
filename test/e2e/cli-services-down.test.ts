/** A service that is down gives every command the same one line (issue #10 item 24). */
import { inject } from 'vitest';
import { runCli } from '../support/cli.ts';
import { expect, test, uniqueName } from '../support/fixtures.ts';

const services = inject('services');

test('search, spend and status say "Postgres is not reachable … Start it with …" when Postgres is stopped', async () => {
  // Port 1 on loopback: nothing listens there, so the connection is refused like a stopped server's.
  const env = { REDIS_URL: services.redisUrl, DATABASE_URL: 'postgres://embedq:s3cret@127.0.0.1:1/embedq', EMBEDQ_DB_SCHEMA: uniqueName('down'), EMBEDQ_REDIS_PREFIX: uniqueName('down') };
  const expected = 'embedq: Postgres is not reachable at postgres://embedq:***@127.0.0.1:1/embedq: connection refused. Start it with `npm run services up` (scripts/services.sh) or set DATABASE_URL\n';
  for (const args of [['search', 'anything', '--index', 'docs'], ['spend'], ['status']]) {
    const r = await runCli(args, env);
    expect({ args, code: r.code, stderr: r.stderr }).toEqual({ args, code: 1, stderr: expected });
  }
});
