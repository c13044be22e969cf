/**
 * The one home of "a service is not reachable" messages: any error that means Redis or Postgres
 * is down or went away becomes the same one-line {@link ServiceUnavailableError} (URL redacted,
 * with what to do), whichever command or call it came from; and a table missing because the schema
 * was never migrated says to run `embedq db migrate`. The CLI's error funnel uses it.
 */
import { ServiceUnavailableError, UsageError } from './errors.ts';
import { lostService } from './outage.ts';
import { describeRedisError } from './queue/connection.ts';
import { describePgError } from './store/db.ts';

export function describeServiceError(e: Error, urls: { redisUrl: string; databaseUrl: string; dbSchema?: string }): Error {
  if (e instanceof ServiceUnavailableError) return e;
  // Postgres' undefined_table: a command on a schema `embedq db migrate` never set up (or not up to date).
  if ((e as { code?: string }).code === '42P01') {
    const table = /relation "([^"]+)" does not exist/.exec(e.message)?.[1] ?? 'embedq needs';
    return new UsageError(`the database schema ${urls.dbSchema ?? '(configured)'} has not been migrated (no table ${table}): run \`embedq db migrate\` first`);
  }
  const service = lostService(e, urls);
  if (service === 'postgres') {
    const mapped = describePgError(e, urls.databaseUrl);
    return mapped instanceof ServiceUnavailableError ? mapped : e;
  }
  if (service === 'redis') return describeRedisError(e, urls.redisUrl);
  return e;
}
