import { describe, expect, test } from 'vitest';
import { UsageError } from '../../src/errors.ts';
import { assertSafeName, quoteIdent, vectorTableName } from '../../src/store/identifiers.ts';

describe('identifiers', () => {
  test('accepts safe index names', () => {
    expect(assertSafeName('docs')).toBe('docs');
    expect(vectorTableName('support_kb', 2)).toBe('vec_support_kb_2');
    expect(quoteIdent('vec_docs_1')).toBe('"vec_docs_1"');
  });

  test.each(['Docs', '1docs', 'docs; drop table x', 'a-b', '', 'x'.repeat(41), 'docs"'])('refuses %j as a usage error', (name) => {
    expect(() => assertSafeName(name)).toThrow(UsageError);
    expect(() => assertSafeName(name)).toThrow(/not a safe identifier/);
  });

  test('quoteIdent refuses anything it was not meant to see', () => {
    expect(() => quoteIdent('a"b')).toThrow();
  });
});
