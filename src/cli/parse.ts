/**
 * Parsers of command-line options that more than one command reads: the raw value in, the typed
 * value out, or a {@link UsageError} (exit 2) that says what arrived and what was expected.
 * Numeric flags have theirs in numbers.ts.
 */
import { CronExpressionParser } from 'cron-parser';
import { parseDuration } from '../duration.ts';
import { UsageError } from '../errors.ts';

// --- option parsers ---

/** `every` like 30s, 15m, 1h, 1d → ms; or a cron expression checked now. */
export function parseRepeat(o: { every?: string | undefined; cron?: string | undefined }): { every: number } | { pattern: string } {
  if (Boolean(o.every) === Boolean(o.cron)) throw new UsageError('give exactly one of --every (e.g. 1h, 15m) or --cron (e.g. "0 * * * *")');
  if (o.every) {
    const every = parseDuration(o.every);
    if (every === undefined) throw new UsageError(`--every must be a number and a unit (s, m, h, d), e.g. 30m or 1h, got ${JSON.stringify(o.every)}`);
    return { every };
  }
  try {
    CronExpressionParser.parse(o.cron!);
  } catch (e) {
    throw new UsageError(`--cron ${JSON.stringify(o.cron)} is not a valid cron expression (${(e as Error).message}); e.g. "0 * * * *" for hourly`);
  }
  return { pattern: o.cron! };
}

/** Parses `--since`: an ISO date/time, or a duration back from now like 24h, 7d, 30m. */
export function parseSince(v: string | undefined, now = Date.now()): Date | undefined {
  if (!v) return undefined;
  const back = parseDuration(v, ['m', 'h', 'd'], { allowZero: true });
  if (back !== undefined) return new Date(now - back);
  // Only ISO forms: Date() alone takes '7' as the year 2001 and 'Nov 1 2026' in local time.
  const d = /^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(v) ? new Date(v) : new Date(NaN);
  if (Number.isNaN(d.getTime())) throw new UsageError(`--since must be an ISO date (2026-11-01) or a duration like 24h, 7d, got ${JSON.stringify(v)}`);
  return d;
}

/** Parses a flag holding a duration (`30d`, `24h`, `15m`) to milliseconds. */
export function parseDurationFlag(flag: string, v: string): number {
  const ms = parseDuration(v);
  if (ms === undefined) throw new UsageError(`${flag} must be a number and a unit (s, m, h, d), e.g. 30d or 24h, got ${JSON.stringify(v)}`);
  return ms;
}

export type RunMode = 'sync' | 'batch' | 'auto';

/** Parses `--mode` of `ingest` and `reembed start`: sync, batch or auto. */
export function parseMode(v: string): RunMode {
  if (v === 'sync' || v === 'batch' || v === 'auto') return v;
  throw new UsageError(`--mode must be sync, batch or auto, not ${JSON.stringify(v)}`);
}

export { readFields, type RecordFlags } from '../corpus/readers/record-fields.ts';

/**
 * `--filter key=value` flags (repeatable) as a metadata filter: different keys must all match,
 * repeated keys match any of their values. A value matches the string; a value that reads as a
 * JSON number, true, false or null also matches that (`year=2024` finds `"2024"` and `2024`).
 */
export function parseFilters(flags: readonly string[]): { key: string; values: unknown[] }[] {
  const byKey = new Map<string, unknown[]>();
  for (const f of flags) {
    const eq = f.indexOf('=');
    if (eq <= 0) throw new UsageError(`--filter must be key=value (the document's metadata key, then its value), got ${JSON.stringify(f)}`);
    const key = f.slice(0, eq);
    const raw = f.slice(eq + 1);
    const values = byKey.get(key) ?? [];
    values.push(raw);
    if (/^(-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?|true|false|null)$/.test(raw)) values.push(JSON.parse(raw));
    byKey.set(key, values);
  }
  return [...byKey].map(([key, values]) => ({ key, values }));
}
