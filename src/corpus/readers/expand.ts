/**
 * Turns the inputs of `embedq ingest` (files, directories, globs) into a deterministic list of
 * files to read, with a rejection for every input or entry that cannot be.
 */
import type { Dirent, Stats } from 'node:fs';
import { constants } from 'node:fs';
import { access, glob, lstat, readdir, realpath } from 'node:fs/promises';
import { basename, extname, join, resolve, sep } from 'node:path';
import { notRegular, pseudoFilesystem, realStat } from './fs-guard.ts';
import { describeFsError } from './limits.ts';
import type { Rejection } from './types.ts';

/** Extensions read when walking a directory (an explicitly named file is read whatever its name). */
export const SUPPORTED_EXTENSIONS: ReadonlySet<string> = new Set(['.txt', '.md', '.markdown', '.mdx', '.rst', '.text', '.jsonl', '.ndjson', '.csv']);

export const GLOB_CHARS = /[*?[\]{}]/;

export interface ExpandOptions {
  /**
   * Read symbolic links whose targets lie outside the input they were found under, and walk
   * links to directories (a link back up the tree is reported as a loop). /proc, /sys and /dev
   * stay out of reach either way. @default false
   */
  followSymlinks?: boolean;
}

type Item = { path: string } | Rejection;
/** A directory to walk: the path documents are named by, its real path, and the real paths above it. */
type Dir = { path: string; real: string; up: Ancestors };
type Ancestors = { real: string; up: Ancestors } | null;

/**
 * Expands inputs into absolute file paths. Only the inputs themselves are patterns: every name
 * found in a directory is taken literally. Each input may be:
 * - a file: yielded as is, whatever its extension (read as text unless JSONL/CSV);
 * - a directory: walked recursively, skipping dot-entries (`.git`) and `node_modules`, keeping
 *   only {@link SUPPORTED_EXTENSIONS};
 * - a glob (`docs/**\/*.md`), when no such path exists: matched files are kept if they have a
 *   supported extension or the pattern ends in a literal extension (`logs/*.log`); matched
 *   directories are walked. The folder before the first wildcard is the glob's root.
 *
 * Symbolic links met on the way are resolved: a link to a file inside the input's real root is
 * read under the link's name; a link outside it, or to a directory, is a rejection unless
 * `followSymlinks`. Dangling links, link loops, FIFOs, sockets and devices are rejections (they
 * are never opened), and so is anything on a pseudo-filesystem (/proc, /sys, /dev).
 *
 * Files come out sorted (by UTF-16 code unit, not locale) within each input, inputs in the order
 * given, each file once. An input that does not exist or cannot be read becomes a
 * {@link Rejection} ("not found", "permission denied", "no files match this pattern", "no
 * supported files in this folder").
 */
export async function* expandPaths(inputs: string[], opts: ExpandOptions = {}): AsyncIterable<Item> {
  const seen = new Set<string>();
  for (const input of inputs) {
    const abs = resolve(input);
    let st: Stats;
    let real: string;
    try {
      ({ real, st } = await realStat(abs));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT' && GLOB_CHARS.test(input)) yield* expandGlob(input, seen, opts);
      else yield rejected(input, await missingReason(abs, e));
      continue;
    }
    const pseudo = await pseudoFilesystem(real);
    if (pseudo) yield rejected(input, pseudo);
    else if (st.isDirectory()) {
      const items = await walk({ path: abs, real, up: null }, real, opts);
      if (!items.some((i) => !('kind' in i))) items.push(rejected(input, `no supported files in this folder (${[...SUPPORTED_EXTENSIONS].join(' ')})`));
      yield* fresh(items, seen);
    }
    else if (!st.isFile()) yield rejected(input, notRegular(st));
    else {
      try {
        await access(abs, constants.R_OK);
        yield* fresh([{ path: abs }], seen);
      } catch (e) {
        yield rejected(input, describeFsError(e));
      }
    }
  }
}

async function* expandGlob(pattern: string, seen: Set<string>, opts: ExpandOptions): AsyncIterable<Item> {
  const anyExtension = /\.[A-Za-z0-9]+$/.test(pattern);
  const base = globRoot(resolve(pattern));
  const root = await realpath(base).catch(() => base);
  const pseudo = await pseudoFilesystem(root);
  if (pseudo) {
    yield rejected(pattern, pseudo);
    return;
  }
  const matches: string[] = [];
  for await (const m of glob(pattern, { exclude: (p: string) => basename(p) === 'node_modules' })) matches.push(resolve(m));
  matches.sort();
  const items: Item[] = [];
  let walkedRoot: string | undefined;
  for (const m of matches) {
    // `dir/**` matches every directory under dir too; the first walk already covered them.
    if (walkedRoot !== undefined && m.startsWith(walkedRoot + sep)) continue;
    const entry = await classify(m, root, opts, anyExtension || isSupported(m));
    if (entry === 'skip') continue;
    if ('kind' in entry) items.push(entry);
    else if ('dir' in entry) {
      walkedRoot = m;
      items.push(...(await walk({ path: m, real: entry.dir, up: null }, root, opts)));
    } else items.push({ path: m });
  }
  if (items.length === 0) {
    yield rejected(pattern, 'no files match this pattern');
    return;
  }
  yield* fresh(items.sort(byPath), seen);
}

/** A glob match: a file to read, a directory to walk (by its real path), a rejection, or nothing. */
async function classify(path: string, root: string, opts: ExpandOptions, wanted: boolean): Promise<{ file: true } | { dir: string } | Rejection | 'skip'> {
  let st: Stats;
  let real: string;
  try {
    st = await lstat(path);
    if (st.isSymbolicLink()) return await followLink(path, root, opts, wanted);
    real = await realpath(path);
  } catch (e) {
    return rejected(path, describeFsError(e));
  }
  if (!st.isDirectory() && !st.isFile()) return rejected(path, notRegular(st));
  if (st.isFile() && !wanted) return 'skip';
  const pseudo = await pseudoFilesystem(real);
  if (pseudo) return rejected(path, pseudo);
  // A wildcard segment may have gone through a link to a directory elsewhere.
  if (!opts.followSymlinks && !inside(real, root)) return rejected(path, `resolves to ${real}, outside ${root}: not read (--follow-symlinks reads it)`);
  return st.isDirectory() ? { dir: real } : { file: true };
}

/**
 * Resolves a symbolic link met in a walk or a glob. `wanted`: whether a regular file at this
 * path would be read at all (a link named `x.png` to a file is skipped like any `.png`).
 */
async function followLink(path: string, root: string, opts: ExpandOptions, wanted: boolean): Promise<{ file: true } | { dir: string } | Rejection | 'skip'> {
  let real: string;
  let st: Stats;
  try {
    ({ real, st } = await realStat(path));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return rejected(path, code === 'ENOENT' ? 'dangling symbolic link: its target does not exist' : code === 'ELOOP' ? 'symbolic link loop' : describeFsError(e));
  }
  if (st.isFile() && !wanted) return 'skip';
  const pseudo = await pseudoFilesystem(real);
  if (pseudo) return rejected(path, `symbolic link to ${real}, ${pseudo}`);
  if (!st.isDirectory() && !st.isFile()) return rejected(path, notRegular(st, `symbolic link to ${real}, `));
  if (st.isDirectory() && !opts.followSymlinks) return rejected(path, `symbolic link to a directory (${real}), not followed (--follow-symlinks walks it)`);
  if (!opts.followSymlinks && !inside(real, root)) return rejected(path, `symbolic link to ${real}, outside ${root}: not read (--follow-symlinks reads it)`);
  return st.isDirectory() ? { dir: real } : { file: true };
}

/** All supported files under `start`, sorted; links, special files and unreadable directories become rejections. */
async function walk(start: Dir, root: string, opts: ExpandOptions): Promise<Item[]> {
  const out: Item[] = [];
  const pending: Dir[] = [start];
  for (let dir = pending.pop(); dir !== undefined; dir = pending.pop()) {
    if (dir !== start) {
      const pseudo = await pseudoFilesystem(dir.real);
      if (pseudo) {
        out.push(rejected(dir.path, pseudo));
        continue;
      }
    }
    let entries: Dirent[];
    try {
      entries = await readdir(dir.path, { withFileTypes: true });
    } catch (e) {
      out.push(rejected(dir.path, describeFsError(e)));
      continue;
    }
    const up: Ancestors = { real: dir.real, up: dir.up };
    // With --follow-symlinks a followed link can lead back to a folder being walked.
    const descend = (path: string, real: string) => {
      if (isAbove(real, up)) out.push(rejected(path, `symbolic link loop: ${real} is a folder above it`));
      else pending.push({ path, real, up });
    };
    for (const entry of entries) {
      if (entry.name.startsWith('.') || entry.name === 'node_modules') continue;
      // entry.name is a name, never a pattern: `a*b.md` is the file called a*b.md.
      const path = join(dir.path, entry.name);
      if (entry.isFile()) {
        if (isSupported(path)) out.push({ path });
      } else if (entry.isSymbolicLink()) {
        const target = await followLink(path, root, opts, isSupported(path));
        if (target === 'skip') continue;
        if ('kind' in target) out.push(target);
        else if ('file' in target) out.push({ path });
        else descend(path, target.dir);
      } else if (entry.isDirectory()) {
        descend(path, join(dir.real, entry.name));
      } else {
        out.push(rejected(path, notRegular(entryStats(entry))));
      }
    }
  }
  return out.sort(byPath);
}

/** Whether `real` is one of the folders being walked above this point (following it would never end). */
function isAbove(real: string, up: Ancestors): boolean {
  for (let a = up; a !== null; a = a.up) if (a.real === real) return true;
  return false;
}

/** A Dirent's type in the shape {@link notRegular} reads (no system call needed). */
function entryStats(entry: Dirent): Stats {
  return { isFIFO: () => entry.isFIFO(), isSocket: () => entry.isSocket(), isCharacterDevice: () => entry.isCharacterDevice(), isBlockDevice: () => entry.isBlockDevice() } as Stats;
}

/** The folder before a pattern's first wildcard segment: `/a/b/**\/*.md` → `/a/b`. */
function globRoot(pattern: string): string {
  const parts = pattern.split(sep);
  const first = parts.findIndex((p) => GLOB_CHARS.test(p));
  return parts.slice(0, first).join(sep) || sep;
}

function inside(real: string, root: string): boolean {
  return real === root || real.startsWith(root.endsWith(sep) ? root : root + sep);
}

/** Why an input that `stat` cannot see is missing: a dangling link says so. */
async function missingReason(abs: string, e: unknown): Promise<string> {
  if ((e as NodeJS.ErrnoException).code === 'ENOENT' && (await lstat(abs).then((s) => s.isSymbolicLink(), () => false))) return 'dangling symbolic link: its target does not exist';
  return describeFsError(e);
}

function* fresh(items: Iterable<Item>, seen: Set<string>): Iterable<Item> {
  for (const item of items) {
    if ('kind' in item) yield item;
    else if (!seen.has(item.path)) {
      seen.add(item.path);
      yield item;
    }
  }
}

function isSupported(path: string): boolean {
  return SUPPORTED_EXTENSIONS.has(extname(path).toLowerCase());
}

function byPath(a: { path: string }, b: { path: string }): number {
  return a.path < b.path ? -1 : a.path > b.path ? 1 : 0;
}

function rejected(path: string, reason: string): Rejection {
  return { kind: 'rejected', path, reason };
}
