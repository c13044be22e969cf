/**
 * The one parser for every numeric command-line flag. `parseInt` and `Number` accept too much:
 * `parseInt('12abc')` is 12, `parseInt('1e3')` is 1, `Number('')` is 0 and `Number('0x10')` is 16.
 * Here a flag's value is all digits (a whole number) or digits with one decimal point (a
 * decimal), within the flag's range, or the command stops with a usage error (exit 2) that says
 * what arrived and what was expected.
 *
 * @example program.option('--dims <n>', 'output dimensions', wholeNumber('--dims', { min: 1 }))
 */
import { UsageError } from '../errors.ts';

export interface NumberRange {
  /** @default 0 */
  min?: number;
  /** @default Number.MAX_SAFE_INTEGER */
  max?: number;
}

const WHOLE = /^\d+$/;
const DECIMAL = /^(\d+(\.\d*)?|\.\d+)$/;

/** Parses a flag's value as a whole number in `range`, or throws a {@link UsageError}. */
export function parseWholeNumber(flag: string, raw: string, range: NumberRange = {}): number {
  const n = WHOLE.test(raw) ? Number(raw) : NaN;
  return checked(flag, raw, n, range, 'an integer', Number.isSafeInteger(n));
}

/** Parses a flag's value as a decimal number (`0.95`, `1`, `.5`; no sign, no exponent) in `range`. */
export function parseDecimal(flag: string, raw: string, range: NumberRange = {}): number {
  const n = DECIMAL.test(raw) ? Number(raw) : NaN;
  return checked(flag, raw, n, range, 'a number', Number.isFinite(n));
}

/** A commander argument parser for a whole-number flag. */
export function wholeNumber(flag: string, range: NumberRange = {}): (raw: string) => number {
  return (raw) => parseWholeNumber(flag, raw, range);
}

/** A commander argument parser for a decimal flag. */
export function decimal(flag: string, range: NumberRange = {}): (raw: string) => number {
  return (raw) => parseDecimal(flag, raw, range);
}

function checked(flag: string, raw: string, n: number, range: NumberRange, kind: string, ok: boolean): number {
  const min = range.min ?? 0;
  const max = range.max ?? Number.MAX_SAFE_INTEGER;
  if (ok && n >= min && n <= max) return n;
  const bounds = max === Number.MAX_SAFE_INTEGER ? `of at least ${min}` : `from ${min} to ${max}`;
  throw new UsageError(`${flag} must be ${kind} ${bounds} (digits only, e.g. ${example(kind, min, max)}), got ${JSON.stringify(raw)}`);
}

function example(kind: string, min: number, max: number): string {
  if (kind === 'a number' && max <= 1) return '0.95';
  return String(Math.min(Math.max(min, 10), max));
}
