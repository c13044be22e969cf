/**
 * The one synthetic corpus every system in `npm run bench:peers` reads: N unique records of
 * ~800 characters, deterministic, as JSON Lines `{"id": "r<i>", "text": …}`. The text scheme is
 * bench/ingest.ts's `writeCorpus()`, copied, so figures from both benchmarks compare.
 *
 * Variant 1 ("changed") is the same corpus with every tenth record (i % 10 === 3) rewritten: same
 * id, different text (its last sentence), about the same length. Nothing else moves. Variant 2
 * rewrites the same records once more, so going from variant 1 to 2 is again a 10% change, and
 * its texts are new to any cache (going back to variant 0 would not be).
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { createInterface } from 'node:readline';

const WORDS = 'the of and to in is for on with as by at from that this are be or an it was which not have has data index vector model query search chunk token batch queue worker cache embed provider limit rate cost'.split(' ');

export interface Record_ {
  id: string;
  text: string;
}

/** True for the records the "changed" variant rewrites: 10% of them. */
export const isChanged = (i: number): boolean => i % 10 === 3;

/** Which text the changed 10% carry: 0 the original, 1 and 2 two different rewrites. */
export type Variant = 0 | 1 | 2;
const ENDING: Record<Variant, string> = { 0: '.', 1: ', revised.', 2: ', revised again.' };

/** The records, in order; variants 1 and 2 rewrite 10% of them (see isChanged). */
export function* records(n: number, variant: Variant = 0): Generator<Record_> {
  let x = 12345;
  const rnd = () => ((x = (x * 1103515245 + 12345) >>> 0), x);
  for (let i = 0; i < n; i++) {
    let text = `Record ${i}.`;
    while (text.length < 800) text += ` ${WORDS[rnd() % WORDS.length]}`;
    yield { id: `r${i}`, text: `${text} unique-${i}${ENDING[isChanged(i) ? variant : 0]}` };
  }
}

/** Writes the corpus as JSON Lines. */
export async function writeCorpus(n: number, file: string, variant: Variant = 0): Promise<void> {
  const out = createWriteStream(file);
  for (const r of records(n, variant)) if (!out.write(`${JSON.stringify(r)}\n`)) await new Promise((res) => out.once('drain', res));
  await new Promise<void>((res) => out.end(res));
}

/** Reads a corpus file back (what each peer's runner does first: its users hold the documents in memory). */
export async function readCorpus(file: string): Promise<Record_[]> {
  const out: Record_[] = [];
  for await (const line of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) if (line) out.push(JSON.parse(line) as Record_);
  return out;
}
