import { expect, test } from 'vitest';
import { UsageError } from '../../src/errors.ts';
import { assertTenant } from '../../src/tenant.ts';

test('assertTenant returns a valid tenant id', () => {
  for (const t of ['default', 'acme', 'a', '0-team_b', 'x'.repeat(63)]) expect(assertTenant(t)).toBe(t);
});

test('assertTenant refuses anything else with a usage error that says the form', () => {
  for (const t of ['', 'Acme', '-a', '_a', 'a b', 'x'.repeat(64), 'a.b']) {
    expect(() => assertTenant(t)).toThrow(UsageError);
    expect(() => assertTenant(t)).toThrow(`tenant ${JSON.stringify(t)} is not a safe identifier: use lower-case letters, digits, _ and - (at most 63), e.g. "acme"`);
  }
});
