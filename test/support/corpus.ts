/** Small corpora written to a temp folder for tests. */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll } from 'vitest';

const WORDS = 'alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa quebec romeo sierra tango uniform victor whiskey xray yankee zulu'.split(' ');

/** Deterministic prose: `n` sentences seeded by `seed`, different for every seed. */
export function prose(seed: number, sentences = 8): string {
  let x = seed * 2654435761 + 1;
  const next = () => ((x = (x * 1103515245 + 12345) >>> 0), x);
  const out: string[] = [];
  for (let s = 0; s < sentences; s++) {
    const len = 8 + (next() % 10);
    const words = Array.from({ length: len }, () => WORDS[next() % WORDS.length]!);
    words.push(`w${seed}x${s}`);
    out.push(`${words.join(' ')}.`);
  }
  return out.join(' ');
}

/** Writes `data` at `rel` under `dir`, making its folders; returns the file's path. */
function writeFile(dir: string, rel: string, data: string | Uint8Array): string {
  const p = join(dir, rel);
  mkdirSync(dirname(p), { recursive: true });
  writeFileSync(p, data);
  return p;
}

/** Writes files (relative path → content) into a fresh temp folder and returns it. */
export function writeCorpus(files: Record<string, string | Uint8Array>): string {
  const dir = mkdtempSync(join(tmpdir(), 'embedq-corpus-'));
  for (const [rel, content] of Object.entries(files)) writeFile(dir, rel, content);
  return dir;
}

/** A fresh folder removed after the test file; `write` creates files (and parent folders) in it. */
export function tempCorpus(): { dir: string; write(rel: string, data: string | Uint8Array): string } {
  const dir = writeCorpus({});
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return { dir, write: (rel, data) => writeFile(dir, rel, data) };
}
