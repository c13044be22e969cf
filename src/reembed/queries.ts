/** The user's query set for the quality gate: JSONL of {query, expected: [chunk or document ids]}. */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { UsageError } from '../errors.ts';
import type { Db } from '../store/db.ts';
import type { GateQuery } from './gate.ts';
import { knownChunkOrDocIds } from './store.ts';

/** Reads and checks a query file: every line valid, every expected id a chunk or document of the index. */
export async function loadQueries(db: Db, indexId: number, path: string): Promise<GateQuery[]> {
  const out: GateQuery[] = [];
  let n = 0;
  // Query files are small (hundreds of lines); readline is fine here, unlike for corpora.
  try {
    for await (const line of createInterface({ input: createReadStream(path), crlfDelay: Infinity })) {
      n++;
      if (!line.trim()) continue;
      let v: { query?: unknown; expected?: unknown };
      try {
        v = JSON.parse(line);
      } catch {
        throw new UsageError(`${path}:${n}: not valid JSON`);
      }
      const expected = Array.isArray(v.expected) ? v.expected.map(String) : typeof v.expected === 'string' ? [v.expected] : null;
      if (typeof v.query !== 'string' || !v.query.trim() || !expected?.length)
        throw new UsageError(`${path}:${n}: expected {"query": "...", "expected": ["<chunk or document id>", ...]}`);
      out.push({ query: v.query, expected });
    }
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(`query file ${path} cannot be read (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  if (out.length === 0) throw new UsageError(`query file ${path} has no queries`);
  const ids = [...new Set(out.flatMap((q) => q.expected))];
  const known = await knownChunkOrDocIds(db, indexId, ids);
  const unknown = ids.filter((id) => !known.has(id));
  if (unknown.length)
    throw new UsageError(`query file ${path}: ${unknown.length} expected ids are neither chunk ids nor document ids of this index: ${unknown.slice(0, 5).join(', ')}${unknown.length > 5 ? ', …' : ''}`);
  return out;
}
