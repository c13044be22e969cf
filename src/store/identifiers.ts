/**
 * The single place where names become SQL identifiers. User input never reaches SQL text
 * except through {@link quoteIdent} after {@link assertSafeName}.
 */
import { UsageError } from '../errors.ts';

const SAFE = /^[a-z][a-z0-9_]{0,39}$/;

/** True for a name {@link assertSafeName} accepts. */
export const isSafeName = (name: string): boolean => SAFE.test(name);

/** Index names: lower-case letter first, then letters, digits, `_`; at most 40 characters. */
export function assertSafeName(name: string, what = 'index name'): string {
  if (!SAFE.test(name))
    throw new UsageError(
      `${what} ${JSON.stringify(name)} is not a safe identifier: use a lower-case letter followed by lower-case letters, digits or _ (at most 40 characters), e.g. "docs" or "support_kb"`,
    );
  return name;
}

/** Double-quotes an identifier that has already been validated. */
export function quoteIdent(ident: string): string {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(ident)) throw new Error(`refusing to quote unexpected identifier ${JSON.stringify(ident)}`);
  return `"${ident}"`;
}

/** Name of the physical vector table for version `n` of index `name`: `vec_<name>_<n>`. */
export function vectorTableName(name: string, n: number): string {
  assertSafeName(name);
  if (!Number.isInteger(n) || n < 1) throw new Error(`bad index version ${n}`);
  return `vec_${name}_${n}`;
}
