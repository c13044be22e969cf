import { describe, expect, test } from 'vitest';
import { describeRoot, globBase, idBaseOf, inRoot, isUnder } from '../../../src/corpus/readers/roots.ts';
import { tempCorpus } from '../../support/corpus.ts';

const corpus = tempCorpus();

describe('roots', () => {
  test('under a root means the root itself or below it, never a sibling that shares its prefix', () => {
    expect(isUnder('/a/docs', '/a/docs')).toBe(true);
    expect(isUnder('/a/docs/x.md', '/a/docs')).toBe(true);
    expect(isUnder('/a/docs/x.md', '/a/docs/')).toBe(true);
    for (const sibling of ['/a/docs2/x.md', '/a/docs-old/x.md', '/a/docs.bak/x.md', '/a/docs.md']) expect(isUnder(sibling, '/a/docs')).toBe(false);
    expect(isUnder('/etc/x', '/')).toBe(true);
  });

  test('a glob root is its literal leading folders, and holds only what its pattern matches', async () => {
    expect(globBase('/a/docs/**/*.md')).toBe('/a/docs');
    expect(globBase('/*.md')).toBe('/');
    const root = await describeRoot(`${corpus.dir}/docs/*.md`);
    expect(root).toMatchObject({ glob: true, base: `${corpus.dir}/docs` });
    expect(inRoot(`${corpus.dir}/docs/a.md`, root)).toBe(true);
    expect(inRoot(`${corpus.dir}/docs/sub/a.md`, root)).toBe(false);
    expect(inRoot(`${corpus.dir}/docs/a.txt`, root)).toBe(false);
  });

  test('ids are relative to the folder holding the root, however the root was spelled', async () => {
    corpus.write('docs/a.md', 'x');
    for (const spelling of [`${corpus.dir}/docs`, `${corpus.dir}/docs/`, `${corpus.dir}/docs/../docs`, `${corpus.dir}/docs/**/*.md`])
      expect(idBaseOf(await describeRoot(spelling))).toBe(corpus.dir);
    expect(idBaseOf(await describeRoot(`${corpus.dir}/docs/a.md`))).toBe(`${corpus.dir}/docs`);
  });
});
