/**
 * What a batch's requests come to: each line's outcome (decided when the batch is created, so
 * `request_counts` can grow while it runs) and, once it stops, the JSONL of its output file (one
 * line per success, with the exact `/v1/embeddings` body) and of its error file (failed requests
 * with their HTTP status and error envelope; unfinished ones of an expired batch with
 * `response: null, error: {code: "batch_expired"}`). Lines come in processing order, which is a
 * seeded shuffle of the input order, as OpenAI's output order does not follow the input.
 */
import type { SimState } from './route-types.ts';
import type { BatchLine } from './batch-input.ts';
import { embeddingsResponse, parseEmbeddingsRequest, type EmbeddingsRequest } from './embeddings.ts';
import { newId, seededPermutation } from './http.ts';

export type LineOutcome = { ok: true; req: EmbeddingsRequest } | { ok: false; status: number; body: unknown };

/** Fault knobs that shape the files (captured when the batch is created). */
export interface OutputFaults {
  /** Vectors half the requested size. */
  wrongDims: boolean;
  /** One output line cut in half (no longer JSON). */
  malformedLine: boolean;
  /** This many output lines left out, silently. */
  missingCustomIds: number;
}

export interface RenderedResults {
  output: string[];
  errors: string[];
  /** Embedding inputs and tokens answered in the output file. */
  inputs: number;
  tokens: number;
}

const SERVER_ERROR = { error: { message: 'The server had an error processing your request. Sorry about that! You can retry your request.', type: 'server_error', param: null, code: null } };

/** The processing order: a permutation of the input lines that depends only on their custom_ids. */
export function processingOrder(lines: BatchLine[]): number[] {
  return seededPermutation(lines.length, lines.map((l) => l.customId).join('\u0000'));
}

/**
 * Decides every line's fate: a line whose body is invalid fails alone with the 400/404 the
 * synchronous endpoint would give; of the rest, `failFraction` (exactly, rounded; picked by a
 * shuffle seeded with the custom_ids, so the same file fails the same lines) fail with a 500.
 */
export function decideOutcomes(lines: BatchLine[], state: SimState, failFraction: number): LineOutcome[] {
  const outcomes: LineOutcome[] = lines.map((l) => {
    const parsed = parseEmbeddingsRequest(l.body, state);
    return 'status' in parsed ? { ok: false, status: parsed.status, body: parsed.body } : { ok: true, req: parsed };
  });
  const valid = outcomes.flatMap((o, i) => (o.ok ? [i] : []));
  const count = Math.round(Math.min(1, Math.max(0, failFraction)) * valid.length);
  const seed = `fail:${lines.map((l) => l.customId).join('\u0000')}`;
  for (const k of seededPermutation(valid.length, seed).slice(0, count)) outcomes[valid[k]!] = { ok: false, status: 500, body: SERVER_ERROR };
  return outcomes;
}

/** Successes and failures among the first `processed` lines of `order`. */
export function countOutcomes(outcomes: LineOutcome[], order: number[], processed: number): { completed: number; failed: number; tokens: number } {
  let completed = 0;
  let failed = 0;
  let tokens = 0;
  for (const i of order.slice(0, processed)) {
    const o = outcomes[i]!;
    if (o.ok) {
      completed++;
      tokens += o.req.tokens.reduce((a, t) => a + t, 0);
    } else failed++;
  }
  return { completed, failed, tokens };
}

/**
 * Renders the files for a batch that stopped after `processed` lines of `order`. With
 * `expireRest`, the lines not reached go to the error file as `batch_expired`; otherwise (a
 * cancelled batch) they appear in neither file.
 */
export function renderResults(state: SimState, lines: BatchLine[], outcomes: LineOutcome[], order: number[], processed: number, expireRest: boolean, faults: OutputFaults): RenderedResults {
  const out: RenderedResults = { output: [], errors: [], inputs: 0, tokens: 0 };
  const base = (i: number) => ({ id: newId('batch_req_', 32), custom_id: lines[i]!.customId });
  for (const i of order.slice(0, processed)) {
    const o = outcomes[i]!;
    if (o.ok) {
      const dims = faults.wrongDims ? Math.max(1, Math.floor((o.req.dimensions ?? o.req.served.dims) / 2)) : undefined;
      const body = embeddingsResponse(state, o.req, dims);
      out.output.push(JSON.stringify({ ...base(i), response: { status_code: 200, request_id: newId('req_', 32), body }, error: null }));
      out.inputs += o.req.inputs.length;
      out.tokens += o.req.tokens.reduce((a, t) => a + t, 0);
    } else out.errors.push(JSON.stringify({ ...base(i), response: { status_code: o.status, request_id: newId('req_', 32), body: o.body }, error: null }));
  }
  if (expireRest)
    for (const i of order.slice(processed))
      out.errors.push(JSON.stringify({ ...base(i), response: null, error: { code: 'batch_expired', message: 'This request could not be executed before the completion window expired.' } }));
  if (faults.missingCustomIds > 0) out.output.splice(Math.max(0, out.output.length - faults.missingCustomIds));
  if (faults.malformedLine && out.output.length > 0) {
    const mid = Math.floor(out.output.length / 2);
    out.output[mid] = out.output[mid]!.slice(0, Math.floor(out.output[mid]!.length / 2));
  }
  return out;
}
