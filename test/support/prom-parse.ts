/**
 * A small strict parser of the Prometheus text exposition format (version 0.0.4), for tests:
 * it throws on anything a Prometheus server would reject or that breaks the format's rules
 * (bad names or escapes, samples before their TYPE, a family split in two, duplicate series,
 * histogram buckets that are not cumulative or disagree with _count).
 */

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  type: MetricType;
  help: string;
  samples: Sample[];
}

export interface Exposition {
  families: Map<string, Family>;
  /** The samples of `name` (a sample name, e.g. `x_bucket`) whose labels include `match`. */
  samples(name: string, match?: Record<string, string>): Sample[];
  /** The value of the one sample of `name` with exactly these labels; throws if absent. */
  value(name: string, labels?: Record<string, string>): number;
}

const METRIC = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set<MetricType>(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

/** A float as Prometheus reads it (Go's ParseFloat: NaN and Inf in any case; prom-client writes `Nan`). */
function parseValue(s: string, line: number): number {
  if (/^[+]?inf(inity)?$/i.test(s)) return Infinity;
  if (/^-inf(inity)?$/i.test(s)) return -Infinity;
  if (/^nan$/i.test(s)) return NaN;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s)) throw new Error(`line ${line}: bad value ${JSON.stringify(s)}`);
  return Number(s);
}

/** Parses `{a="x",b="y"}` starting at text[0] === '{'; returns the labels and the rest. */
function parseLabels(text: string, line: number): [Record<string, string>, string] {
  const labels: Record<string, string> = {};
  let i = 1;
  for (;;) {
    while (text[i] === ' ') i++;
    if (text[i] === '}') return [labels, text.slice(i + 1)];
    const eq = text.indexOf('=', i);
    if (eq < 0) throw new Error(`line ${line}: label without '='`);
    const name = text.slice(i, eq).trim();
    if (!LABEL.test(name) || name.startsWith('__')) throw new Error(`line ${line}: bad label name ${JSON.stringify(name)}`);
    if (name in labels) throw new Error(`line ${line}: label ${name} twice`);
    if (text[eq + 1] !== '"') throw new Error(`line ${line}: label value of ${name} is not quoted`);
    let v = '';
    let j = eq + 2;
    for (; j < text.length && text[j] !== '"'; j++) {
      if (text[j] === '\n') throw new Error(`line ${line}: raw newline in a label value`);
      if (text[j] !== '\\') {
        v += text[j];
        continue;
      }
      const next = text[++j];
      if (next === 'n') v += '\n';
      else if (next === '\\' || next === '"') v += next;
      else throw new Error(`line ${line}: bad escape \\${next ?? ''} in label ${name}`);
    }
    if (j >= text.length) throw new Error(`line ${line}: unterminated label value of ${name}`);
    labels[name] = v;
    i = j + 1;
    if (text[i] === ',') i++;
    else if (text[i] !== '}') throw new Error(`line ${line}: expected ',' or '}' after label ${name}`);
  }
}

/** The family a sample name belongs to, given the declared families. */
function familyOf(name: string, families: Map<string, Family>): Family | undefined {
  const exact = families.get(name);
  if (exact && !['histogram', 'summary'].includes(exact.type)) return exact;
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (!name.endsWith(suffix)) continue;
    const f = families.get(name.slice(0, -suffix.length));
    if (f && (f.type === 'histogram' || (f.type === 'summary' && suffix !== '_bucket'))) return f;
  }
  return exact?.type === 'summary' ? exact : undefined;
}

const key = (name: string, labels: Record<string, string>) =>
  `${name}{${Object.keys(labels).sort().map((k) => `${k}=${JSON.stringify(labels[k])}`).join(',')}}`;

export function parseExposition(text: string): Exposition {
  if (!text.endsWith('\n')) throw new Error('the exposition must end with a newline');
  const families = new Map<string, Family>();
  const seen = new Set<string>();
  const closed = new Set<string>();
  let current: Family | undefined;
  text.slice(0, -1).split('\n').forEach((raw, idx) => {
    const line = idx + 1;
    if (raw.trim() === '') return;
    const meta = /^#\s+(HELP|TYPE)\s+(\S+)(?:\s(.*))?$/.exec(raw);
    if (meta) {
      const [, kind, name, rest = ''] = meta as unknown as [string, 'HELP' | 'TYPE', string, string?];
      if (!METRIC.test(name)) throw new Error(`line ${line}: bad metric name ${name}`);
      if (closed.has(name)) throw new Error(`line ${line}: ${name} appears in two places`);
      let f = families.get(name);
      if (f && f.samples.length) throw new Error(`line ${line}: ${kind} of ${name} after its samples`);
      if (!f) families.set(name, (f = { name, type: 'untyped', help: '', samples: [] }));
      if (current && current !== f) closed.add(current.name);
      current = f;
      if (kind === 'TYPE') {
        if (!TYPES.has(rest.trim() as MetricType)) throw new Error(`line ${line}: unknown type ${rest}`);
        f.type = rest.trim() as MetricType;
      } else f.help = rest.replace(/\\n/g, '\n').replace(/\\\\/g, '\\');
      return;
    }
    if (raw.startsWith('#')) return;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(.*)$/.exec(raw);
    if (!m) throw new Error(`line ${line}: not a sample: ${raw}`);
    const name = m[1]!;
    let rest = m[2]!;
    let labels: Record<string, string> = {};
    if (rest.startsWith('{')) [labels, rest] = parseLabels(rest, line);
    const parts = rest.trim().split(/\s+/);
    if (parts.length < 1 || parts.length > 2 || parts[0] === '') throw new Error(`line ${line}: expected a value (and an optional timestamp)`);
    const value = parseValue(parts[0]!, line);
    const f = familyOf(name, families);
    if (!f) throw new Error(`line ${line}: sample ${name} has no TYPE declared before it`);
    if (f !== current) throw new Error(`line ${line}: sample ${name} is not next to the rest of ${f.name}`);
    const k = key(name, labels);
    if (seen.has(k)) throw new Error(`line ${line}: duplicate series ${k}`);
    seen.add(k);
    if (f.type === 'histogram' && name.endsWith('_bucket') && !('le' in labels)) throw new Error(`line ${line}: bucket without le`);
    if (f.type === 'counter' && value < 0) throw new Error(`line ${line}: negative counter ${k}`);
    f.samples.push({ name, labels, value });
  });
  for (const f of families.values()) if (f.type === 'histogram') checkHistogram(f);

  const samples = (name: string, match: Record<string, string> = {}) =>
    [...families.values()].flatMap((f) => f.samples).filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v));
  return {
    families,
    samples,
    value(name, labels = {}) {
      const hit = samples(name, labels).filter((s) => Object.keys(s.labels).length === Object.keys(labels).length);
      if (hit.length !== 1) throw new Error(`expected one sample ${key(name, labels)}, found ${hit.length}`);
      return hit[0]!.value;
    },
  };
}

/** Buckets of each series must be cumulative, end with +Inf, and +Inf must equal _count. */
function checkHistogram(f: Family): void {
  const series = new Map<string, { buckets: [number, number][]; count?: number }>();
  for (const s of f.samples) {
    const { le, ...rest } = s.labels;
    const k = key('', rest);
    const entry = series.get(k) ?? { buckets: [] };
    series.set(k, entry);
    if (s.name.endsWith('_bucket')) entry.buckets.push([parseValue(le!, 0), s.value]);
    if (s.name.endsWith('_count')) entry.count = s.value;
  }
  for (const [k, e] of series) {
    const sorted = [...e.buckets].sort((a, b) => a[0] - b[0]);
    sorted.forEach(([, v], i) => {
      if (i > 0 && v < sorted[i - 1]![1]) throw new Error(`${f.name}${k}: buckets are not cumulative`);
    });
    const inf = sorted.at(-1);
    if (!inf || inf[0] !== Infinity) throw new Error(`${f.name}${k}: no +Inf bucket`);
    if (e.count !== inf[1]) throw new Error(`${f.name}${k}: +Inf bucket ${inf[1]} != _count ${e.count}`);
  }
}
