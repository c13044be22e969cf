/**
 * Turns the inputs of `embedq ingest` (files, directories, globs) into a deterministic list of
 * files to read, with a rejection for every input that cannot be.
 */
import type { Dirent } from 'node:fs';
import { constants } from 'node:fs';
import { access, glob, readdir, stat } from 'node:fs/promises';
import { basename, extname, join, resolve, sep } from 'node:path';
import { describeFsError } from './limits.ts';
import type { Rejection } from './types.ts';

/** Extensions read when walking a directory (an explicitly named file is read whatever its name). */
export const SUPPORTED_EXTENSIONS: ReadonlySet<string> = new Set(['.txt', '.md', '.markdown', '.mdx', '.rst', '.text', '.jsonl', '.ndjson', '.csv']);

const GLOB_CHARS = /[*?[\]{}]/;

/**
 * Expands inputs into absolute file paths. Each input may be:
 * - a file: yielded as is, whatever its extension (read as text unless JSONL/CSV);
 * - a directory: walked recursively, skipping dot-entries (`.git`) and `node_modules`, keeping
 *   only {@link SUPPORTED_EXTENSIONS}; symbolic links to files are followed, to directories not
 *   (a link back up the tree would never end);
 * - a glob (`docs/**\/*.md`), when no such path exists: matched files are kept if they have a
 *   supported extension or the pattern ends in a literal extension (`logs/*.log`); matched
 *   directories are walked.
 *
 * Files come out sorted (by UTF-16 code unit, not locale) within each input, inputs in the order
 * given, each file once. An input that does not exist or cannot be read becomes a
 * {@link Rejection} ("not found", "permission denied", "no files match this pattern").
 */
export async function* expandPaths(inputs: string[]): AsyncIterable<{ path: string } | Rejection> {
  const seen = new Set<string>();
  for (const input of inputs) {
    const abs = resolve(input);
    let isDir: boolean;
    try {
      const st = await stat(abs);
      if (!st.isFile() && !st.isDirectory()) {
        yield rejected(input, 'not a regular file or directory');
        continue;
      }
      isDir = st.isDirectory();
      if (!isDir) await access(abs, constants.R_OK);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT' && GLOB_CHARS.test(input)) yield* expandGlob(input, seen);
      else yield rejected(input, describeFsError(e));
      continue;
    }
    if (isDir) yield* fresh(await walk(abs), seen);
    else yield* fresh([{ path: abs }], seen);
  }
}

async function* expandGlob(pattern: string, seen: Set<string>): AsyncIterable<{ path: string } | Rejection> {
  const anyExtension = /\.[A-Za-z0-9]+$/.test(pattern);
  const matches: string[] = [];
  for await (const m of glob(pattern, { exclude: (p: string) => basename(p) === 'node_modules' })) matches.push(resolve(m));
  matches.sort();
  const items: ({ path: string } | Rejection)[] = [];
  let walkedRoot: string | undefined;
  for (const m of matches) {
    // `dir/**` matches every directory under dir too; the first walk already covered them.
    if (walkedRoot !== undefined && m.startsWith(walkedRoot + sep)) continue;
    try {
      const st = await stat(m);
      if (st.isDirectory()) {
        walkedRoot = m;
        items.push(...(await walk(m)));
      } else if (st.isFile() && (anyExtension || isSupported(m))) items.push({ path: m });
    } catch (e) {
      items.push(rejected(m, describeFsError(e)));
    }
  }
  if (items.length === 0) {
    yield rejected(pattern, 'no files match this pattern');
    return;
  }
  yield* fresh(items.sort(byPath), seen);
}

/** All supported files under `root`, sorted; unreadable directories become rejections. */
async function walk(root: string): Promise<({ path: string } | Rejection)[]> {
  const out: ({ path: string } | Rejection)[] = [];
  const pending = [root];
  for (let dir = pending.pop(); dir !== undefined; dir = pending.pop()) {
    let entries: Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (e) {
      out.push(rejected(dir, describeFsError(e)));
      continue;
    }
    for (const entry of entries) {
      if (entry.name.startsWith('.') || entry.name === 'node_modules') continue;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) pending.push(path);
      else if (isSupported(path) && (entry.isFile() || (entry.isSymbolicLink() && (await isFileTarget(path))))) out.push({ path });
    }
  }
  return out.sort(byPath);
}

async function isFileTarget(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

function* fresh(items: Iterable<{ path: string } | Rejection>, seen: Set<string>): Iterable<{ path: string } | Rejection> {
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

/**
 * The folder or file an input of {@link expandPaths} can yield files under: the input itself
 * (absolute), or for a glob the folder before its first pattern segment. A run records these
 * roots, and a worker reads only under them (jobs/validate.ts).
 */
export function inputRoot(input: string): string {
  const abs = resolve(input);
  if (!GLOB_CHARS.test(abs)) return abs;
  const parts = abs.split(sep);
  return parts.slice(0, parts.findIndex((p) => GLOB_CHARS.test(p))).join(sep) || sep;
}
