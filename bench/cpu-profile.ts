/**
 * Summarizes V8 CPU profiles (`node --cpu-prof`, or bench:ingest --cpu-prof): self time by
 * package (node_modules/<pkg>), by embedq source file, and the top functions.
 *
 *   node bench/cpu-profile.ts <profile.cpuprofile>… [--top 25]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface Profile {
  nodes: { id: number; callFrame: CallFrame }[];
  samples: number[];
  timeDeltas: number[];
}

const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '25' } } });
const top = Number(values.top);
for (const file of positionals) {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const frames = new Map(p.nodes.map((n) => [n.id, n.callFrame]));
  const byPlace = new Map<string, number>();
  const byFunction = new Map<string, number>();
  let total = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const f = frames.get(p.samples[i]!)!;
    const us = p.timeDeltas[i] ?? 0;
    total += us;
    const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(f.url)?.[1];
    const place = pkg ? `pkg ${pkg}` : f.url.includes('/src/') || f.url.includes('/jobs/') || f.url.includes('/workers/') ? `embedq ${f.url.replace(/^.*?\/(src|jobs|workers)\//, '$1/')}` : f.url || `(${f.functionName || 'native'})`;
    byPlace.set(place, (byPlace.get(place) ?? 0) + us);
    const fn = `${f.functionName || '(anonymous)'} ${place}:${f.lineNumber + 1}`;
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + us);
  }
  const show = (m: Map<string, number>) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, us]) => `${(us / 1e6).toFixed(2).padStart(7)} s ${((us * 100) / total).toFixed(1).padStart(5)}%  ${k}`)
      .join('\n');
  console.log(`# ${file}: ${(total / 1e6).toFixed(2)} s sampled\n\n## self time by place\n${show(byPlace)}\n\n## self time by function\n${show(byFunction)}\n`);
}
