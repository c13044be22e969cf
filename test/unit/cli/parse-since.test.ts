/** parseSince: `spend --since` takes a duration back from now or an ISO date/time. */
import { describe, expect, test } from 'vitest';
import { parseSince } from '../../../src/cli/parse.ts';
import { UsageError } from '../../../src/errors.ts';

const now = Date.parse('2026-11-20T12:00:00Z');

describe('parseSince', () => {
  test('no value means no lower bound', () => {
    expect(parseSince(undefined, now)).toBeUndefined();
    expect(parseSince('', now)).toBeUndefined();
  });

  test('minutes, hours and days count back from now', () => {
    expect(parseSince('30m', now)!.toISOString()).toBe('2026-11-20T11:30:00.000Z');
    expect(parseSince('24h', now)!.toISOString()).toBe('2026-11-19T12:00:00.000Z');
    expect(parseSince('7d', now)!.toISOString()).toBe('2026-11-13T12:00:00.000Z');
    expect(parseSince('0h', now)!.getTime()).toBe(now);
  });

  test('an ISO date is its midnight UTC, an ISO date/time that moment', () => {
    expect(parseSince('2026-11-01', now)!.toISOString()).toBe('2026-11-01T00:00:00.000Z');
    expect(parseSince('2026-11-01T10:15:00Z', now)!.toISOString()).toBe('2026-11-01T10:15:00.000Z');
  });

  test('anything else is a usage error that names the forms and quotes what arrived', () => {
    // A bare number would parse as a year ('7' is 2001): it is refused, not taken as 7 days.
    for (const bad of ['7w', '-1d', '1.5h', '7D', ' 7d', '7 d', 'yesterday', '2026-13-01', '7', '2026', 'Nov 1 2026']) {
      expect(() => parseSince(bad, now)).toThrow(UsageError);
      expect(() => parseSince(bad, now)).toThrow(`--since must be an ISO date (2026-11-01) or a duration like 24h, 7d, got ${JSON.stringify(bad)}`);
    }
  });
});
