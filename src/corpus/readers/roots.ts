/**
 * The roots of an ingest: each path, directory or glob given on the command line (or recorded in
 * a schedule). A root decides two things: which stored documents a re-sync may delete (those
 * under it) and how document ids are formed (relative to the folder that holds it).
 */
import { stat } from 'node:fs/promises';
import { dirname, matchesGlob, resolve, sep } from 'node:path';
import { expandPaths, GLOB_CHARS, type ExpandOptions } from './expand.ts';
import type { Rejection } from './types.ts';

export interface Root {
  /** As given. */
  input: string;
  /** Resolved against the current directory. */
  abs: string;
  /** True when no such path exists and the input is a pattern (as {@link expandPaths} decides). */
  glob: boolean;
  /** The file or folder the root names: the path itself, or a glob's literal leading folders. */
  base: string;
}

export async function describeRoot(input: string): Promise<Root> {
  const abs = resolve(input);
  const exists = await stat(abs).then(() => true, () => false);
  const glob = !exists && GLOB_CHARS.test(input);
  return { input, abs, glob, base: glob ? globBase(abs) : abs };
}

/** The literal leading folders of an absolute pattern: `/data/docs/**\/*.md` → `/data/docs`. */
export function globBase(pattern: string): string {
  const parts = pattern.split(sep);
  const i = parts.findIndex((p) => GLOB_CHARS.test(p));
  const lead = parts.slice(0, i < 0 ? parts.length : i).join(sep);
  return lead === '' ? sep : lead;
}

/** `path` is `dir` itself or lies below it (`/a/docs2` is not under `/a/docs`). */
export function isUnder(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir.endsWith(sep) ? dir : dir + sep);
}

/** Whether a file path belongs to the root: under its path, or matched by its pattern. */
export function inRoot(path: string, root: Root): boolean {
  return root.glob ? isUnder(path, root.base) && matchesGlob(path, root.abs) : isUnder(path, root.abs);
}

/**
 * The folder document ids are relative to: the one holding the root, so that `docs/a.md` is the
 * id of that file whether `docs`, `./docs/`, `/data/docs` or (from inside it) `.` was given.
 */
export function idBaseOf(root: Root): string {
  return dirname(root.base);
}

/**
 * {@link expandPaths} root by root, each file with the folder its id is relative to
 * ({@link idBaseOf} of the first root that reaches it); a file reached twice comes out once.
 */
export async function* expandRoots(inputs: string[], opts: ExpandOptions = {}): AsyncIterable<{ path: string; idBase: string } | Rejection> {
  const seen = new Set<string>();
  for (const input of inputs) {
    const idBase = idBaseOf(await describeRoot(input));
    for await (const item of expandPaths([input], opts)) {
      if ('kind' in item) yield item;
      else if (!seen.has(item.path)) {
        seen.add(item.path);
        yield { path: item.path, idBase };
      }
    }
  }
}
