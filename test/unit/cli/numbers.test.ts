import { describe, expect, test } from 'vitest';
import { parseDecimal, parseWholeNumber } from '../../../src/cli/numbers.ts';
import { UsageError } from '../../../src/errors.ts';

describe('numeric flags', () => {
  test('whole numbers: digits only, within range', () => {
    expect(parseWholeNumber('--dims', '512', { min: 1 })).toBe(512);
    expect(parseWholeNumber('--port', '0', { max: 65535 })).toBe(0);
    expect(parseWholeNumber('-k', '007', { min: 1 })).toBe(7);
  });

  test.each(['12abc', '1e3', '5abc', '', ' 5', '5 ', '-1', '+5', '1.0', '1.5', '0x10', 'Infinity', '9007199254740993'])('refuses %j as a whole number', (raw) => {
    expect(() => parseWholeNumber('--dims', raw, { min: 0 })).toThrow(UsageError);
  });

  test('the message says which flag, what was expected and what arrived', () => {
    expect(() => parseWholeNumber('--dims', '12abc', { min: 1 })).toThrow('--dims must be an integer of at least 1 (digits only, e.g. 10), got "12abc"');
    expect(() => parseWholeNumber('-k', '0', { min: 1, max: 1000 })).toThrow('-k must be an integer from 1 to 1000');
    expect(() => parseWholeNumber('--port', '65536', { max: 65535 })).toThrow('got "65536"');
  });

  test('decimals: digits with at most one point, no sign or exponent, within range', () => {
    expect(parseDecimal('--coverage', '0.95', { max: 1 })).toBe(0.95);
    expect(parseDecimal('--coverage', '1', { max: 1 })).toBe(1);
    expect(parseDecimal('--coverage', '.5', { max: 1 })).toBe(0.5);
    for (const raw of ['1e-1', '0.9x', '', '-0.5', '1.2.3', 'NaN', '1.5']) expect(() => parseDecimal('--coverage', raw, { max: 1 }), raw).toThrow(UsageError);
  });
});
