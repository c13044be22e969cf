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
import { embeddingsResponse, parseEmbeddingsRequest } from './embeddings.ts';
import { newId, seededPermutation } from './http.ts';

/**
 * One request line answered as the provider's synchronous endpoint answers it: a success (its
 * inputs, tokens, and the 200 body, rendered when the batch stops; `wrongDims` halves the vectors)
 * or the error reply.
 */
export type LineOutcome = { ok: true; inputs: number; tokens: number; body(wrongDims: boolean): unknown } | { ok: false; status: number; body: unknown };

/** Answers one line's request body; each provider's batch API brings its own (OpenAI's is {@link openaiLine}). */
export type LineAnswer = (body: unknown, state: SimState) => LineOutcome;

/** A line answered by the simulator's OpenAI `/v1/embeddings`. */
export const openaiLine: LineAnswer = (body, state) => {
  const req = parseEmbeddingsRequest(body, state);
  if ('status' in req) return { ok: false, status: req.status, body: req.body };
  const dims = req.dimensions ?? req.served.dims;
  return { ok: true, inputs: req.inputs.length, tokens: req.tokens.reduce((a, t) => a + t, 0), body: (wrong) => embeddingsResponse(state, req, wrong ? Math.max(1, Math.floor(dims / 2)) : undefined) };
};

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

export const SERVER_ERROR = { error: { message: 'The server had an error processing your request. Sorry about that! You can retry your request.', type: 'server_error', param: null, code: null } };

/** The processing order: a permutation of the input lines that depends only on their custom_ids. */
export function processingOrder(lines: BatchLine[]): number[] {
  return seededPermutation(lines.length, lines.map((l) => l.customId).join('\u0000'));
}

/**
 * Decides every line's fate: a line whose body is invalid fails alone with the 400/404 the
 * synchronous endpoint would give; of the rest, `failFraction` (exactly, rounded; picked by a
 * shuffle seeded with the custom_ids, so the same file fails the same lines) fail with a 500.
 */
export function decideOutcomes(lines: BatchLine[], state: SimState, failFraction: number, answer: LineAnswer = openaiLine, serverError: unknown = SERVER_ERROR): LineOutcome[] {
  const outcomes: LineOutcome[] = lines.map((l) => answer(l.body, state));
  const valid = outcomes.flatMap((o, i) => (o.ok ? [i] : []));
  const count = Math.round(Math.min(1, Math.max(0, failFraction)) * valid.length);
  const seed = `fail:${lines.map((l) => l.customId).join('\u0000')}`;
  for (const k of seededPermutation(valid.length, seed).slice(0, count)) outcomes[valid[k]!] = { ok: false, status: 500, body: serverError };
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
      tokens += o.tokens;
    } else failed++;
  }
  return { completed, failed, tokens };
}

/**
 * Renders the files for a batch that stopped after `processed` lines of `order`. With
 * `expireRest`, the lines not reached go to the error file as `batch_expired`; otherwise (a
 * cancelled batch) they appear in neither file.
 */
export function renderResults(lines: BatchLine[], outcomes: LineOutcome[], order: number[], processed: number, expireRest: boolean, faults: OutputFaults): RenderedResults {
  const out: RenderedResults = { output: [], errors: [], inputs: 0, tokens: 0 };
  const base = (i: number) => ({ id: newId('batch_req_', 32), custom_id: lines[i]!.customId });
  for (const i of order.slice(0, processed)) {
    const o = outcomes[i]!;
    if (o.ok) {
      out.output.push(JSON.stringify({ ...base(i), response: { status_code: 200, request_id: newId('req_', 32), body: o.body(faults.wrongDims) }, error: null }));
      out.inputs += o.inputs;
      out.tokens += o.tokens;
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
