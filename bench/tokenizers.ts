/**
 * Exact cl100k token counting: gpt-tokenizer (pure JS, what embedq uses) against tiktoken
 * (OpenAI's Rust BPE compiled to WASM), on the same texts, three rounds each (issue #14's
 * "a faster tokenizer, WASM or native"). tiktoken is not a dependency; fetch it for the run:
 *
 *   npm i --no-save tiktoken && node bench/tokenizers.ts [--texts 20000] [--words 300]
 *
 * Texts are seeded sentences of bench/corpus.ts's kind of vocabulary with numbers mixed in.
 */
import { parseArgs } from 'node:util';
import { tokenizerFor } from '../src/corpus/tokenizer.ts';

const { values } = parseArgs({ options: { texts: { type: 'string', default: '20000' }, words: { type: 'string', default: '300' } } });
let tiktoken: { get_encoding(name: string): { encode_ordinary(text: string): Uint32Array; free(): void } };
try {
  tiktoken = (await import('tiktoken' as string)) as typeof tiktoken;
} catch {
  console.error('tiktoken is not installed: run `npm i --no-save tiktoken` first');
  process.exit(2);
}
const vocab = 'an queue has be the in was cache provider from and by for rate not this token search model index with'.split(' ');
let seed = 1;
const rnd = (): number => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
const texts = Array.from({ length: Number(values.texts) }, (_, i) => {
  let s = `Record ${i}.`;
  for (let j = 0; j < Number(values.words); j++) s += ` ${vocab[Math.floor(rnd() * vocab.length)]}${rnd() < 0.05 ? Math.floor(rnd() * 1000) : ''}`;
  return s;
});
const ours = tokenizerFor('cl100k_base');
const wasm = tiktoken.get_encoding('cl100k_base');
console.log('| round | tokens | gpt-tokenizer ms | tiktoken (WASM) ms | tiktoken / gpt-tokenizer |\n|---:|---:|---:|---:|---:|');
for (let round = 1; round <= 3; round++) {
  let t = performance.now();
  let a = 0;
  for (const x of texts) a += ours.count(x);
  const js = performance.now() - t;
  t = performance.now();
  let b = 0;
  for (const x of texts) b += wasm.encode_ordinary(x).length;
  const w = performance.now() - t;
  if (a !== b) throw new Error(`the tokenizers disagree: ${a} vs ${b} tokens`);
  console.log(`| ${round} | ${a.toLocaleString('en-US')} | ${js.toFixed(0)} | ${w.toFixed(0)} | ${(w / js).toFixed(1)}× |`);
}
wasm.free();
