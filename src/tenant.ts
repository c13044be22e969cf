/**
 * What a tenant id may be, once: the CLI flags, the config's `defaultTenant` and the job payloads
 * check against the same pattern and say the same thing when it does not match.
 */
import { UsageError } from './errors.ts';

/** Lower-case letter or digit first, then letters, digits, `_` and `-`; at most 63 characters. */
export const TENANT_PATTERN = /^[a-z0-9][a-z0-9_-]{0,62}$/;

/** The form a tenant id takes, as error messages state it. */
export const TENANT_RULE = 'lower-case letters, digits, _ and - (at most 63), e.g. "acme"';

/** Returns `tenant`, or throws a {@link UsageError} that names it and the form expected. */
export function assertTenant(tenant: string): string {
  if (!TENANT_PATTERN.test(tenant)) throw new UsageError(`tenant ${JSON.stringify(tenant)} is not a safe identifier: use ${TENANT_RULE}`);
  return tenant;
}
