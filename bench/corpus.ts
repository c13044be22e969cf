/** The synthetic corpus every benchmark uses: N unique texts of ~800 characters, deterministic. */
import { createWriteStream } from 'node:fs';

const WORDS = 'the of and to in is for on with as by at from that this are be or an it was which not have has data index vector model query search chunk token batch queue worker cache embed provider limit rate cost'.split(' ');

export async function writeCorpus(n: number, file: string): Promise<void> {
  const out = createWriteStream(file);
  let x = 12345;
  const rnd = () => ((x = (x * 1103515245 + 12345) >>> 0), x);
  for (let i = 0; i < n; i++) {
    let text = `Record ${i}.`;
    while (text.length < 800) text += ` ${WORDS[rnd() % WORDS.length]}`;
    if (!out.write(`${JSON.stringify({ id: `r${i}`, text: `${text} unique-${i}.` })}\n`)) await new Promise((r) => out.once('drain', r));
  }
  await new Promise<void>((r) => out.end(r));
}
