import { symlinkSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, test } from 'vitest';
import { expandPaths } from '../../../src/corpus/readers/expand.ts';
import { describeFsError } from '../../../src/corpus/readers/limits.ts';
import { tempCorpus } from '../../support/corpus.ts';
import { collect } from './support.ts';

const corpus = tempCorpus();
for (const rel of ['b.txt', 'a.md', 'notes.log', 'data.jsonl', 'rows.csv', 'image.png', '.hidden.md', '.git/HEAD.md', 'node_modules/pkg/readme.md', 'sub/d.rst', 'sub/deeper/e.markdown', 'sub/deeper/f.MDX', 'Z/upper.text', 'z/lower.ndjson']) {
  corpus.write(rel, `content of ${rel}\n`);
}
symlinkSync(join(corpus.dir, 'sub'), join(corpus.dir, 'loop-to-sub'));
symlinkSync(join(corpus.dir, 'a.md'), join(corpus.dir, 'link.md'));

const rel = (items: ({ path: string } | { kind: 'rejected'; path: string; reason: string })[]) =>
  items.map((i) => ('kind' in i ? `rejected ${i.path}: ${i.reason}` : relative(corpus.dir, i.path)));

describe('expandPaths', () => {
  test('walks a directory: supported extensions only, no dot-entries, no node_modules, sorted, links to files followed and to directories reported', async () => {
    expect(rel(await collect(expandPaths([corpus.dir])))).toEqual([
      'Z/upper.text',
      'a.md',
      'b.txt',
      'data.jsonl',
      'link.md',
      `rejected ${join(corpus.dir, 'loop-to-sub')}: symbolic link to a directory (${join(corpus.dir, 'sub')}), not followed (--follow-symlinks walks it)`,
      'rows.csv',
      'sub/d.rst',
      'sub/deeper/e.markdown',
      'sub/deeper/f.MDX',
      'z/lower.ndjson',
    ]);
  });

  test('yields an explicitly named file whatever its extension, as an absolute path', async () => {
    const items = await collect(expandPaths([join(corpus.dir, 'notes.log')]));
    expect(items).toEqual([{ path: join(corpus.dir, 'notes.log') }]);
  });

  test('rejects a missing input by the name it was given, and goes on', async () => {
    const missing = join(corpus.dir, 'nope.md');
    expect(rel(await collect(expandPaths([missing, join(corpus.dir, 'a.md')])))).toEqual([`rejected ${missing}: not found`, 'a.md']);
  });

  test('expands globs: dot-files and node_modules excluded, supported extensions unless the pattern names one', async () => {
    expect(rel(await collect(expandPaths([join(corpus.dir, '**/*.md')])))).toEqual(['a.md', 'link.md']);
    expect(rel(await collect(expandPaths([join(corpus.dir, '*.log')])))).toEqual(['notes.log']);
    expect(rel(await collect(expandPaths([join(corpus.dir, 'sub/*')])))).toEqual(['sub/d.rst', 'sub/deeper/e.markdown', 'sub/deeper/f.MDX']);
    expect(rel(await collect(expandPaths([join(corpus.dir, 'sub/**')])))).toEqual(['sub/d.rst', 'sub/deeper/e.markdown', 'sub/deeper/f.MDX']);
  });

  test('a glob that matches nothing is a rejection', async () => {
    const pattern = join(corpus.dir, '*.pdf');
    expect(await collect(expandPaths([pattern]))).toEqual([{ kind: 'rejected', path: pattern, reason: 'no files match this pattern' }]);
  });

  test('yields each file once across overlapping inputs', async () => {
    const items = rel(await collect(expandPaths([join(corpus.dir, 'a.md'), join(corpus.dir, '*.md'), corpus.dir])));
    expect(items.filter((p) => p === 'a.md')).toHaveLength(1);
    expect(items.slice(0, 2)).toEqual(['a.md', 'link.md']);
    expect(items).toContain('sub/d.rst');
  });
});

test('file system errors read as short reasons', () => {
  const err = (code: string) => Object.assign(new Error(`${code}: boom`), { code });
  expect(describeFsError(err('ENOENT'))).toBe('not found');
  expect(describeFsError(err('EACCES'))).toBe('permission denied');
  expect(describeFsError(err('EPERM'))).toBe('permission denied');
  expect(describeFsError(err('ELOOP'))).toBe('symbolic link loop');
  expect(describeFsError(err('EIO'))).toBe('EIO: boom');
});
