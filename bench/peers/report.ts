/**
 * The Markdown report of `npm run bench:peers`: one table (system, run, N, chunks/s median and
 * min–max, ratio to LangChain.js and to the floor, provider requests, peak RSS), then the failures,
 * the HNSW builds, the issue's goals, the settings each system ran with, package versions, the
 * Postgres settings and the command. Also: `node bench/peers/report.ts <results.json>` re-renders
 * a saved run.
 */
import { readFileSync } from 'node:fs';

export type SystemId = 'floor' | 'embedq' | 'langchain' | 'langchain-best' | 'llamaindex' | 'llamaindex-best';
/** (c) is 10% changed without an HNSW index on either side; (ch) the same with it in place. */
export type RunId = 'a' | 'b' | 'c' | 'ch' | 'd';
const RUNS: RunId[] = ['a', 'b', 'ch', 'c', 'd'];

export interface Sample {
  /** Corpus size of this sample (documents = chunks: every record fits one chunk). */
  n: number;
  ms: number;
  chunksPerSec: number;
  /** The simulator's own count for the run. */
  requests: number;
  inputs: number;
  /** Of the system's process (0 for the floor: the work is the server's). */
  peakRssMb: number;
  wallMs: number;
  /** The machine's 1-minute load average when the run started (it is shared with other work). */
  load1?: number;
  rows?: number;
  hnswMs?: number;
  detail?: Record<string, unknown>;
}

export interface Failure {
  system: SystemId;
  n: number;
  run: RunId;
  message: string;
  afterMs?: number;
  peakRssMb?: number;
  skipped?: boolean;
}

export interface BenchReport {
  startedAt: string;
  finishedAt: string;
  /** Set while the run is still going (or was cut short). */
  partial?: boolean;
  command: string;
  /** Set on a report merged from several runs (report.ts a.json b.json): each run's command and times. */
  runs?: { command: string; startedAt: string; finishedAt: string }[];
  dims: number;
  sizes: number[];
  reps: number[];
  environment: {
    node: string;
    cpus: string;
    memoryGb: number;
    postgres: string;
    postgresSettings: Record<string, string>;
    packages: Record<string, string>;
  };
  settings: Partial<Record<SystemId, Record<string, unknown>>>;
  samples: (Sample & { system: SystemId; run: RunId })[];
  failures: Failure[];
  /** The load the harness waits for before each system's repetition (--max-load). */
  maxLoad?: number;
  /** `uptime` before each system's repetition, after waiting for the machine to be quiet. */
  uptimes?: { system: SystemId; n: number; rep: number; uptime: string; load1: number; waitedS: number; aboveMax: boolean }[];
}

export const SYSTEM_LABEL: Record<SystemId, string> = {
  floor: 'floor (same vectors)',
  embedq: 'embedq `ingest` (defaults)',
  langchain: 'LangChain.js `index()`, documented defaults',
  'langchain-best': 'LangChain.js `index()`, best settings',
  llamaindex: 'LlamaIndex.TS `IngestionPipeline`, documented defaults',
  'llamaindex-best': 'LlamaIndex.TS `IngestionPipeline`, best settings',
};
const ORDER: SystemId[] = ['floor', 'embedq', 'langchain', 'langchain-best', 'llamaindex', 'llamaindex-best'];
const RUN_LABEL: Record<RunId, string> = {
  a: '(a) first index',
  b: '(b) unchanged re-run',
  ch: '(c) 10% changed, HNSW in place',
  c: '(c) 10% changed, no HNSW',
  d: '(d) first index + HNSW',
};
const FLOOR_RUN_LABEL: Partial<Record<RunId, string>> = {
  a: '(a) bare binary COPY',
  ch: '(c) binary COPY of the changed vectors, HNSW in place',
  d: '(d) COPY, then CREATE INDEX hnsw',
};
/** The runs with a floor: its time is what the run's writes cost at the least. */
const FLOORED: RunId[] = ['a', 'ch', 'd'];

const fmt = (x: number) => Math.round(x).toLocaleString('en-US');
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const ratio = (x: number) => (x >= 10 ? `${x.toFixed(1)}×` : `${x.toFixed(2)}×`);

interface Cell {
  median: number;
  min: number;
  max: number;
  count: number;
  samples: Sample[];
}

function cells(r: BenchReport): Map<string, Cell> {
  const out = new Map<string, Cell>();
  const groups = new Map<string, Sample[]>();
  for (const s of r.samples) {
    const k = `${s.system}|${s.run}|${s.n}`;
    groups.set(k, [...(groups.get(k) ?? []), s]);
  }
  for (const [k, ss] of groups) {
    const v = ss.map((s) => s.chunksPerSec);
    out.set(k, { median: median(v), min: Math.min(...v), max: Math.max(...v), count: v.length, samples: ss });
  }
  return out;
}

export function renderMarkdown(r: BenchReport): string {
  const c = cells(r);
  const get = (system: SystemId, run: RunId, n: number) => c.get(`${system}|${run}|${n}`);
  const sizes = [...new Set(r.samples.map((s) => s.n).concat(r.failures.map((f) => f.n)))].sort((a, b) => a - b);
  /** A reference cell at N, else at the nearest N measured (marked †). */
  const ref = (system: SystemId, run: RunId, n: number): { cell: Cell; mark: string } | undefined => {
    const same = get(system, run, n);
    if (same) return { cell: same, mark: '' };
    const near = sizes.filter((m) => get(system, run, m)).sort((a, b) => Math.abs(a - n) - Math.abs(b - n))[0];
    return near === undefined ? undefined : { cell: get(system, run, near)!, mark: '†' };
  };
  /**
   * Rows by requested size, then system, then N descending: a peer measured at a smaller N after
   * failing at the requested one shows its failure, then its results, in that size's block.
   */
  const groups = [...new Set(r.sizes)].sort((a, b) => a - b);
  const groupOf = (n: number) => groups.find((g) => g >= n) ?? n;
  const rowOrder: [SystemId, number][] = [];
  for (const g of [...new Set(sizes.map(groupOf))].sort((a, b) => a - b))
    for (const system of ORDER)
      for (const n of sizes.filter((m) => groupOf(m) === g).sort((a, b) => b - a)) rowOrder.push([system, n]);
  let daggers = false;
  const vs = (x: number, system: SystemId, run: RunId, n: number) => {
    const o = ref(system, run, n);
    if (!o) return '—';
    if (o.mark) daggers = true;
    return `${ratio(x / o.cell.median)}${o.mark}`;
  };

  const L: string[] = [];
  L.push(`# embedq beside LangChain.js and LlamaIndex.TS (\`npm run bench:peers\`)`, '');
  if (r.partial) L.push('**Partial results: the run had not finished when this was written.**', '');
  const when = (x: { startedAt: string; finishedAt: string }) => `${x.startedAt.slice(0, 16).replace('T', ' ')} UTC to ${x.finishedAt.slice(11, 16)} UTC`;
  const machine = `${r.environment.cpus}, ${r.environment.memoryGb} GiB, Node ${r.environment.node}, PostgreSQL ${r.environment.postgres}`;
  const repsText = `repetitions per size: ${r.sizes.map((n, i) => `${fmt(n)}: ${r.reps[i]}`).join(', ')}`;
  if (r.runs && r.runs.length > 1)
    L.push(
      `Merged from ${r.runs.length} runs of the same harness on ${machine}: ${r.runs.map((x) => `\`${x.command}\` (${when(x)})`).join('; ')}. Each run measured its own floor and LangChain.js rows beside embedq; medians and min–max below pool the repetitions of all runs (${repsText}).`,
      '',
    );
  else L.push(`Run ${when(r)} on ${machine}. Command: \`${r.command}\` (${repsText}).`, '');
  L.push(
    `Every system reads the same synthetic corpus (N unique records of ~800 characters, one chunk each; bench/peers/corpus.ts, the text scheme of bench/ingest.ts) and embeds through the same provider: the project's simulator over HTTP at zero added latency, \`text-embedding-3-small\`, ${r.dims} dims. ` +
      `chunks/s = N ÷ the run's time inside the system's process (reading the corpus, setup, indexing; Node's start and module loading excluded), median and min–max over the repetitions. ` +
      `"× LangChain.js" divides by LangChain.js's median for the same run and N (documented defaults / best settings); "× floor" divides by the floor's median ((a): bare binary COPY; (c) with HNSW: bare binary COPY of the same changed vectors into the floor's table with its HNSW index built, the replaced rows deleted beforehand; (d): COPY then CREATE INDEX hnsw). ` +
      `Provider requests are the simulator's own count for the run; peak RSS is /usr/bin/time's maximum resident set of the system's process.`,
    '',
  );
  L.push('| system | run | N | chunks/s median (min–max) | × LangChain.js defaults / best | × floor | provider requests | peak RSS MB median (max) | rows in store after |');
  L.push('|---|---|---:|---|---|---:|---:|---|---:|');
  for (const [system, n] of rowOrder) {
    for (const run of RUNS) {
      const cell = get(system, run, n);
      const fail = r.failures.find((f) => f.system === system && f.n === n && (f.run === run || (run === 'a' && f.skipped)));
      const runLabel = system === 'floor' ? FLOOR_RUN_LABEL[run] : RUN_LABEL[run];
      if (!runLabel) continue;
      if (!cell) {
        if (fail && (run === 'a' || !fail.skipped))
          L.push(
            `| ${SYSTEM_LABEL[system]} | ${runLabel} | ${fmt(n)} | **${fail.skipped ? 'not run' : 'failed'}**${fail.afterMs ? ` after ${fmt(fail.afterMs / 1000)} s` : ''}: ${fail.message.replace(/\|/g, '\\|')} | — | — | — | ${fail.peakRssMb ? fmt(fail.peakRssMb) : '—'} | — |`,
          );
        continue;
      }
      const req = cell.samples.map((s) => s.requests);
      const rss = cell.samples.map((s) => s.peakRssMb);
      const rows = cell.samples.map((s) => s.rows ?? 0);
      const lc =
        system === 'floor'
          ? '—'
          : `${vs(cell.median, 'langchain', run, n)} / ${vs(cell.median, 'langchain-best', run, n)}`;
      const fl = FLOORED.includes(run) ? vs(cell.median, 'floor', run, n) : '—';
      L.push(
        `| ${SYSTEM_LABEL[system]} | ${runLabel} | ${fmt(n)} | ${fmt(cell.median)} (${fmt(cell.min)}–${fmt(cell.max)})${cell.count < 2 ? ` [${cell.count} run]` : ''} | ${lc} | ${fl} | ${system === 'floor' ? '—' : Math.min(...req) === Math.max(...req) ? fmt(req[0]!) : `${fmt(median(req))} (${fmt(Math.min(...req))}–${fmt(Math.max(...req))})`} | ${system === 'floor' ? '— (server side)' : `${fmt(median(rss))} (${fmt(Math.max(...rss))})`} | ${Math.min(...rows) === Math.max(...rows) ? fmt(rows[0]!) : `${fmt(Math.min(...rows))}–${fmt(Math.max(...rows))}`} |`,
      );
    }
  }
  if (daggers) L.push('', '† that reference system has no result at this N; the ratio uses its result at the nearest N measured.');

  const realFailures = r.failures.filter((f) => !f.skipped);
  if (r.failures.length) {
    L.push('', '## Failures', '');
    for (const f of r.failures) {
      if (f.skipped) {
        L.push(`- ${SYSTEM_LABEL[f.system]} at N=${fmt(f.n)}: ${f.message}.`);
        continue;
      }
      const handled = sizes.filter((m) => get(f.system, 'a', m)).sort((a, b) => b - a)[0];
      L.push(
        `- ${SYSTEM_LABEL[f.system]} at N=${fmt(f.n)}, run ${RUN_LABEL[f.run]}: failed${f.afterMs ? ` after ${fmt(f.afterMs / 1000)} s` : ''}${f.peakRssMb ? ` (peak RSS ${fmt(f.peakRssMb)} MB)` : ''} with \`${f.message}\`. ` +
          `Largest N it handled in this run: ${handled === undefined ? 'none' : fmt(handled)}.`,
      );
    }
    if (realFailures.some((f) => /parameter formats but 0 parameters/.test(f.message)))
      L.push(
        '',
        "  LlamaIndex.TS's PGVectorStore.add() writes every node of a pipeline run in one INSERT with 6 bind parameters per node; the wire protocol counts parameters in 16 bits, so a run of more than 65,535 / 6 = 10,922 chunks cannot be written (20,000 × 6 = 120,000 ≡ 54,464 mod 65,536). It fails at the very end, after every chunk was embedded and written to the docstore.",
      );
  }

  L.push('', '## HNSW builds (median seconds)', '');
  L.push('How each system gets its HNSW index: embedq builds it itself at the end of a first load; LangChain.js with `PGVectorStore.createHnswIndex({ dimensions })` after `index()`; LlamaIndex.TS\'s PGVectorStore has none, so `CREATE INDEX … USING hnsw (embeddings vector_cosine_ops)` after the pipeline; the floor with `CREATE INDEX … USING hnsw (embedding vector_cosine_ops)` after the COPY. Peers build it right after (a)\'s load in the same process, timed separately; (d) = that load + the build.', '');
  L.push('| system | N | HNSW build s (median) | (d) total s (median) |', '|---|---:|---:|---:|');
  for (const [system, n] of rowOrder) {
    const d = get(system, 'd', n);
    if (d) L.push(`| ${SYSTEM_LABEL[system]} | ${fmt(n)} | ${(median(d.samples.map((s) => s.hnswMs ?? 0)) / 1000).toFixed(1)} | ${(median(d.samples.map((s) => s.ms)) / 1000).toFixed(1)} |`);
  }

  L.push('', "## The issue's goals", '');
  for (const n of sizes) {
    const e = (run: RunId) => get('embedq', run, n);
    const l = (run: RunId) => get('langchain', run, n);
    if (!e('a')) continue;
    const parts: string[] = [];
    for (const [run, goal] of [['a', 8], ['b', 10], ['c', 5], ['ch', 2]] as [RunId, number][]) {
      const E = e(run);
      const Lc = l(run);
      if (E && Lc) {
        const x = E.median / Lc.median;
        parts.push(`${RUN_LABEL[run].split(' ')[0]}${run === 'c' ? ' without HNSW' : run === 'ch' ? ' with HNSW' : ''} ${ratio(x)} LangChain.js (goal ≥ ${goal}×: ${x >= goal ? 'met' : `missed by ${ratio(goal / x)}`})`);
      }
    }
    for (const [run, label, floorName] of [
      ['ch', '(c) with HNSW', 'the floor of COPY into the indexed table'],
      ['d', '(d)', 'the COPY-then-index floor'],
    ] as const) {
      const E = e(run);
      const F = get('floor', run, n);
      if (!E || !F) continue;
      const t = median(E.samples.map((s) => s.ms)) / median(F.samples.map((s) => s.ms));
      parts.push(`${label} ${t.toFixed(2)}× ${floorName}'s time (goal ≤ 1.25×: ${t <= 1.25 ? 'met' : `missed by ${(t / 1.25).toFixed(2)}×`})`);
    }
    const peers = (['langchain', 'langchain-best', 'llamaindex', 'llamaindex-best'] as SystemId[])
      .map((s) => ({ s, rss: r.samples.filter((x) => x.system === s && x.n === n).map((x) => x.peakRssMb) }))
      .filter((p) => p.rss.length);
    const eRss = Math.max(...r.samples.filter((x) => x.system === 'embedq' && x.n === n).map((x) => x.peakRssMb));
    if (peers.length) {
      const smallest = peers.map((p) => ({ s: p.s, rss: Math.max(...p.rss) })).sort((a, b) => a.rss - b.rss)[0]!;
      parts.push(`peak RSS ${fmt(eRss)} MB vs the smallest peer's ${fmt(smallest.rss)} MB (${SYSTEM_LABEL[smallest.s]})${n >= 100_000 ? ` (goal at N=100,000: no larger: ${eRss <= smallest.rss ? 'met' : 'missed'})` : ''}`);
    }
    L.push(`- N=${fmt(n)}: ${parts.join('; ')}.`);
  }

  L.push('', '## Settings each system ran with', '');
  L.push('- embedq: `embedq ingest <corpus.jsonl> --index bench --model openai/text-embedding-3-small --dims ' + r.dims + ' --json` after `embedq db migrate`, a fresh schema (`EMBEDQ_DB_SCHEMA`) and Redis prefix per repetition, every other setting at its default (in-process worker, concurrency 4, embed batch 1024, 512-token chunks). (a) is the first run minus its HNSW build; (b) and (c) with HNSW run with embedq\'s own HNSW index in place, as a live index always has it; for (c) without HNSW it is dropped beforehand (untimed), and embedq, which records that it built one, does not build it again.');
  for (const s of ['langchain', 'langchain-best', 'llamaindex', 'llamaindex-best'] as SystemId[]) if (r.settings[s]) L.push(`- ${SYSTEM_LABEL[s]}: \`${JSON.stringify(r.settings[s])}\``);
  L.push(
    '- LangChain.js: one `Document` per record with `metadata.source` = the record id; `OpenAIEmbeddings({ model: "text-embedding-3-small", configuration: { baseURL } })`; `PGVectorStore.initialize(…, { dimensions, distanceStrategy: "cosine" })`; `PostgresRecordManager` in the same schema. With no cleanup (the default) a changed document is added beside its old vectors (see rows after (c)); "incremental" replaces them.',
    '- LlamaIndex.TS: one `Document` per record, `id_` a UUID derived from the record id; `IngestionPipeline({ transformations: [OpenAIEmbedding({ model, baseURL })], docStore: PostgresDocumentStore, vectorStore: PGVectorStore })`; strategy "upserts" (the default), which replaces a changed document\'s vectors.',
    '- Each peer\'s (b) starts from the store its (a) left, without the HNSW index; before its (c) with HNSW the index is built again from its own definition (untimed), and dropped again before (c) without HNSW. Order for every system: (a), (b), (c) with HNSW (variant 1 of the corpus: the same 10% rewritten), (c) without HNSW (variant 2: those 10% rewritten again, texts new to any cache). Every timed run starts after a CHECKPOINT; the simulator\'s counters are reset before each.',
  );

  const loads = r.samples.map((s) => s.load1).filter((x): x is number => x !== undefined);
  if (loads.length)
    L.push(
      '',
      `Machine load: the ${r.environment.cpus.split(' ')[0]} cores are shared with other work; the 1-minute load average at the start of the timed runs was median ${median(loads).toFixed(1)}, range ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)} (per run in the .json). Repetitions are interleaved across systems so that load falls on all of them alike.`,
    );
  if (r.uptimes?.length) {
    const above = r.uptimes.filter((u) => u.aboveMax);
    L.push(
      '',
      `\`uptime\` before each system's repetition (the harness waits up to --load-wait-min for the 1-minute load to fall to ${r.maxLoad ?? '?'}): ${above.length ? `**${above.length} started above it**: ${above.map((u) => `${SYSTEM_LABEL[u.system]} N=${fmt(u.n)} rep ${u.rep} (${u.load1.toFixed(2)})`).join('; ')}` : 'every one started at or below it'}.`,
      '',
      ...r.uptimes.map((u) => `- ${SYSTEM_LABEL[u.system]}, N=${fmt(u.n)}, rep ${u.rep}: \`${u.uptime}\`${u.waitedS ? ` (after waiting ${u.waitedS} s)` : ''}`),
    );
  }
  L.push('', '## Versions and Postgres settings', '');
  const revs = new Map<string, number>();
  for (const x of r.samples) if (x.system === 'embedq' && x.run !== 'd' && typeof x.detail?.revision === 'string') revs.set(x.detail.revision, (revs.get(x.detail.revision) ?? 0) + 1);
  if (revs.size)
    L.push(
      `- embedq revisions its runs used (\`bin/embedq\` runs the working tree's sources; "+dirty": uncommitted changes there): ${[...revs].map(([k, v]) => `${k} (${v} runs)`).join(', ')}${revs.size > 1 ? ' — **the sources changed during the benchmark, so embedq\'s figures mix builds**' : ''}`,
    );
  L.push(`- packages: ${Object.entries(r.environment.packages).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  L.push(`- Postgres: ${Object.entries(r.environment.postgresSettings).map(([k, v]) => `${k}=${v}`).join(', ')}`);
  L.push(`- command: \`${r.command}\``, '');
  return L.join('\n');
}

/** One report from several runs of the harness (same machine and packages): samples and failures pooled. */
export function mergeReports(reports: BenchReport[]): BenchReport {
  if (reports.length === 1) return reports[0]!;
  const sizes = [...new Set(reports.flatMap((r) => r.sizes))].sort((a, b) => a - b);
  const repsAt = (n: number) => reports.reduce((sum, r) => sum + (r.sizes.includes(n) ? r.reps[r.sizes.indexOf(n)]! : 0), 0);
  const runs = reports.flatMap((r) => r.runs ?? [{ command: r.command, startedAt: r.startedAt, finishedAt: r.finishedAt }]);
  return {
    startedAt: reports.map((r) => r.startedAt).sort()[0]!,
    finishedAt: reports.map((r) => r.finishedAt).sort().at(-1)!,
    ...(reports.some((r) => r.partial) ? { partial: true } : {}),
    command: runs.map((x) => x.command).join(' && '),
    runs,
    dims: reports[0]!.dims,
    sizes,
    reps: sizes.map(repsAt),
    environment: {
      ...reports[0]!.environment,
      packages: { ...reports[0]!.environment.packages, embedq: [...new Set(reports.map((r) => r.environment.packages.embedq))].join(' / ') },
    },
    settings: Object.assign({}, ...reports.map((r) => r.settings)) as BenchReport['settings'],
    samples: reports.flatMap((r) => r.samples),
    failures: reports.flatMap((r) => r.failures),
    maxLoad: reports[0]!.maxLoad,
    uptimes: reports.flatMap((r) => r.uptimes ?? []),
  };
}

if (import.meta.main) {
  const files = process.argv.slice(2);
  if (!files.length) throw new Error('usage: node bench/peers/report.ts <run.json> [<another run.json> …]  (several runs are pooled)');
  const reports = files.map((f) => JSON.parse(readFileSync(f, 'utf8')) as BenchReport);
  const peersOf = (r: BenchReport) => JSON.stringify({ ...r.environment.packages, embedq: undefined });
  for (const r of reports.slice(1))
    if (r.dims !== reports[0]!.dims || peersOf(r) !== peersOf(reports[0]!)) throw new Error('these runs differ in dims or the peers\' package versions: not merged');
  process.stdout.write(renderMarkdown(mergeReports(reports)));
}
