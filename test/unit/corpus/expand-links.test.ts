/**
 * What a walk does with entries that are not plain files: links out of the tree, dangling links,
 * loops, FIFOs, devices and pseudo-filesystems are rejections with a reason, never read; names
 * are taken literally.
 */
import { execFileSync } from 'node:child_process';
import { realpathSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { expandPaths } from '../../../src/corpus/readers/expand.ts';
import { readFiles, readSources } from '../../../src/corpus/readers/index.ts';
import { tempCorpus } from '../../support/corpus.ts';
import { collect } from './support.ts';

const elsewhere = tempCorpus();
const outside = elsewhere.dir;
const secret = elsewhere.write('passwd.txt', 'root:x:0:0:root:/root:/bin/bash\n');

const corpus = tempCorpus();
const root = realpathSync(corpus.dir);
corpus.write('a.md', 'alpha\n');
corpus.write('sub/b.md', 'bravo\n');
symlinkSync(secret, join(corpus.dir, 'escape.txt'));
symlinkSync(join(corpus.dir, 'a.md'), join(corpus.dir, 'inside.md'));
symlinkSync(join(corpus.dir, 'nowhere.md'), join(corpus.dir, 'dangling.md'));
symlinkSync('self.md', join(corpus.dir, 'self.md'));
symlinkSync('/proc/self/status', join(corpus.dir, 'status.txt'));
symlinkSync('/dev/zero', join(corpus.dir, 'zero.txt'));
symlinkSync(corpus.dir, join(corpus.dir, 'sub', 'up'));
symlinkSync('/proc', join(corpus.dir, 'proc'));
symlinkSync(outside, join(corpus.dir, 'elsewhere'));
execFileSync('mkfifo', [join(corpus.dir, 'pipe.md')]);

type Item = { path: string } | { kind: 'rejected'; path: string; reason: string };
const show = (items: Item[]) => items.map((i) => ('kind' in i ? `rejected ${i.path.replace(`${corpus.dir}/`, '')}: ${i.reason}` : i.path.replace(`${corpus.dir}/`, '')));

describe('walking a directory with links and special files', () => {
  test('reads links inside the root; reports every other link and special file with its reason', async () => {
    expect(show(await collect(expandPaths([corpus.dir])))).toEqual([
      'a.md',
      'rejected dangling.md: dangling symbolic link: its target does not exist',
      `rejected elsewhere: symbolic link to a directory (${realpathSync(outside)}), not followed (--follow-symlinks walks it)`,
      `rejected escape.txt: symbolic link to ${realpathSync(secret)}, outside ${root}: not read (--follow-symlinks reads it)`,
      'inside.md',
      'rejected pipe.md: a FIFO (named pipe), not a regular file: not read',
      'rejected proc: symbolic link to /proc, under /proc, a pseudo-filesystem: embedq never reads /proc, /sys or /dev',
      'rejected self.md: symbolic link loop',
      expect.stringMatching(/^rejected status\.txt: symbolic link to \/proc\/\d+\/status, under \/proc, a pseudo-filesystem/),
      'sub/b.md',
      `rejected sub/up: symbolic link to a directory (${root}), not followed (--follow-symlinks walks it)`,
      'rejected zero.txt: symbolic link to /dev/zero, under /dev, a pseudo-filesystem: embedq never reads /proc, /sys or /dev',
    ]);
  });

  test('--follow-symlinks reads and walks links out of the tree, but never /proc, /sys or /dev, and stops at loops', async () => {
    const items = show(await collect(expandPaths([corpus.dir], { followSymlinks: true })));
    expect(items).toContain('escape.txt');
    expect(items).toContain('elsewhere/passwd.txt');
    expect(items).toContain(`rejected sub/up: symbolic link loop: ${root} is a folder above it`);
    expect(items).toContain('rejected proc: symbolic link to /proc, under /proc, a pseudo-filesystem: embedq never reads /proc, /sys or /dev');
    expect(items.filter((i) => i.includes('status.txt') || i.includes('zero.txt')).every((i) => i.startsWith('rejected'))).toBe(true);
    expect(items).toContain('rejected pipe.md: a FIFO (named pipe), not a regular file: not read');
  });

  test('a glob applies the same rules to what it matches', async () => {
    const items = show(await collect(expandPaths([join(corpus.dir, '*.txt'), join(corpus.dir, '*.md')])));
    expect(items).toContain('a.md');
    expect(items).toContain('inside.md');
    expect(items).toContain(`rejected escape.txt: symbolic link to ${realpathSync(secret)}, outside ${root}: not read (--follow-symlinks reads it)`);
    expect(items).toContain('rejected pipe.md: a FIFO (named pipe), not a regular file: not read');
    expect(items.filter((i) => !i.startsWith('rejected'))).toEqual(['a.md', 'inside.md']);
  });
});

describe('pseudo-filesystems', () => {
  test.each(['/proc', '/sys', '/dev', '/proc/self/status', '/dev/zero', '/proc/*/status'])('%s is refused as an input', async (input) => {
    const items = await collect(expandPaths([input]));
    expect(items).toEqual([{ kind: 'rejected', path: input, reason: expect.stringMatching(/a pseudo-filesystem: embedq never reads \/proc, \/sys or \/dev/) }]);
  });

  test('a FIFO named on the command line is refused, never opened', async () => {
    const fifo = join(corpus.dir, 'pipe.md');
    expect(await collect(readSources([fifo], { invalidUtf8: 'reject' }))).toEqual([{ kind: 'rejected', path: fifo, reason: 'a FIFO (named pipe), not a regular file: not read' }]);
  });
});

describe('names are literal', () => {
  const names = tempCorpus();
  for (const n of ['a*b.md', 'a?b.md', '[x].md', '{a,b}.md', 'aXb.md', 'd*ir/c.md']) names.write(n, `text of ${n}\n`);

  test('a walked directory yields files whose names contain glob characters', async () => {
    expect(show(await collect(expandPaths([names.dir]))).map((p) => p.replace(`${names.dir}/`, ''))).toEqual(['[x].md', 'a*b.md', 'a?b.md', 'aXb.md', 'd*ir/c.md', '{a,b}.md']);
  });

  test("a planned file is read by its name, never as a pattern: a vanished a*b.md is not found, not aXb.md's text", async () => {
    const star = names.write('gone*x.md', 'soon gone\n');
    names.write('goneYx.md', 'a different file\n');
    rmSync(star);
    expect(await collect(readFiles([star], { invalidUtf8: 'reject' }))).toEqual([{ kind: 'rejected', path: star, reason: 'not found' }]);
  });
});
