/**
 * The one home of "a service is not reachable" messages: any error that means Redis or Postgres
 * is down or went away becomes the same one-line {@link ServiceUnavailableError} (URL redacted,
 * with what to do), whichever command or call it came from. The CLI's error funnel uses it.
 */
import { ServiceUnavailableError } from './errors.ts';
import { lostService } from './outage.ts';
import { describeRedisError } from './queue/connection.ts';
import { describePgError } from './store/db.ts';

export function describeServiceError(e: Error, urls: { redisUrl: string; databaseUrl: string }): Error {
  if (e instanceof ServiceUnavailableError) return e;
  const service = lostService(e, urls);
  if (service === 'postgres') {
    const mapped = describePgError(e, urls.databaseUrl);
    return mapped instanceof ServiceUnavailableError ? mapped : e;
  }
  if (service === 'redis') return describeRedisError(e, urls.redisUrl);
  return e;
}
