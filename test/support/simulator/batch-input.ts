/**
 * Validation of a Batch API input file, as OpenAI does it while a batch is `validating`: every
 * line a JSON object with a unique `custom_id`, `method: "POST"`, the batch's `url` and a body
 * naming one model for the whole file; at most 50,000 requests, and (embeddings) at most 50,000
 * inputs summed over all lines. Problems come back as `errors.data` entries with 1-based line
 * numbers; the batch then goes `failed` without running anything.
 *
 * The error codes for line problems are the simulator's own spelling where OpenAI's exact code
 * is not documented (`token_limit_exceeded` and the shape `{code, line, message, param}` are).
 */

/** One entry of a batch's `errors.data`. */
export interface BatchError {
  code: string;
  line: number | null;
  message: string;
  param: string | null;
}

/** One request line of a valid file. */
export interface BatchLine {
  /** 1-based line number in the file. */
  line: number;
  customId: string;
  body: unknown;
}

export interface BatchInput {
  lines: BatchLine[];
  errors: BatchError[];
  /** The file's one model (undefined when no line named one). */
  model: string | undefined;
  /** Embedding inputs over all lines (a string input counts one). */
  inputs: number;
  /** Estimated tokens of all string inputs (for the enqueued-token limit). */
  tokens: number;
}

export interface BatchLimits {
  maxRequests: number;
  maxInputs: number;
}

/**
 * Where a file's lines get their model. OpenAI: each line is `{custom_id, method, url, body}` and
 * its body names the model. Voyage and Mistral: a line is `{custom_id, body}` only, and the model
 * (with any other batch-wide parameters) comes with the batch; `params` are merged under each body.
 */
export type LineFormat = { kind: 'openai' } | { kind: 'body-only'; params: Record<string, unknown> };

// Enough for a person to fix a file; a 50k-line file of junk should not make a 50k-entry list.
const MAX_REPORTED = 100;

const problem = (code: string, line: number | null, message: string, param: string | null = null): BatchError => ({ code, line, message, param });

/** Adds a line's `input` to the file's input and token counts. */
function count(out: BatchInput, input: unknown, countTokens: (t: string) => number): void {
  const strings = typeof input === 'string' ? [input] : Array.isArray(input) ? input : [];
  out.inputs += strings.length;
  for (const s of strings) if (typeof s === 'string') out.tokens += countTokens(s);
}

/** Parses and validates `text` (the input file) for a batch on `endpoint`. */
export function validateBatchInput(text: string, endpoint: string, limits: BatchLimits, countTokens: (t: string) => number, format: LineFormat = { kind: 'openai' }): BatchInput {
  const out: BatchInput = { lines: [], errors: [], model: undefined, inputs: 0, tokens: 0 };
  const seen = new Set<string>();
  const report = (e: BatchError) => {
    if (out.errors.length < MAX_REPORTED) out.errors.push(e);
  };
  const physical = text.split('\n');
  for (const [i, raw] of physical.entries()) {
    const n = i + 1;
    if (raw.trim() === '') continue;
    let obj: unknown;
    try {
      obj = JSON.parse(raw);
    } catch {
      report(problem('invalid_json_line', n, 'This line is not parseable as valid JSON.'));
      continue;
    }
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
      report(problem('invalid_json_line', n, 'Each line must be a JSON object.'));
      continue;
    }
    const l = obj as Record<string, unknown>;
    if (typeof l.custom_id !== 'string' || l.custom_id === '') {
      report(problem('missing_required_parameter', n, "Missing required parameter: 'custom_id'.", 'custom_id'));
      continue;
    }
    if (seen.has(l.custom_id)) {
      report(problem('duplicate_custom_id', n, `The custom_id '${l.custom_id}' is a duplicate of another request's; custom_id must be unique within a batch.`, 'custom_id'));
      continue;
    }
    seen.add(l.custom_id);
    if (format.kind === 'body-only') {
      if (typeof l.body !== 'object' || l.body === null || Array.isArray(l.body)) {
        report(problem('missing_required_parameter', n, "Missing required parameter: 'body' (a JSON object).", 'body'));
        continue;
      }
      if ('model' in l.body) {
        // Strict on purpose: the model is the batch's, and a line naming one would be ignored or refused.
        report(problem('invalid_parameter', n, "Invalid 'body.model': the model is named once, for the whole batch, not per line.", 'body.model'));
        continue;
      }
      const body = { ...format.params, ...(l.body as Record<string, unknown>) };
      out.model ??= typeof body.model === 'string' ? body.model : undefined;
      count(out, body.input, countTokens);
      out.lines.push({ line: n, customId: l.custom_id, body });
      continue;
    }
    if (l.method !== 'POST') {
      report(problem('invalid_method', n, `Invalid 'method': expected 'POST', got ${JSON.stringify(l.method ?? null)}.`, 'method'));
      continue;
    }
    if (l.url !== endpoint) {
      report(problem('invalid_url', n, `The url ${JSON.stringify(l.url ?? null)} does not match the batch's endpoint '${endpoint}'.`, 'url'));
      continue;
    }
    const body = l.body;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      report(problem('missing_required_parameter', n, "Missing required parameter: 'body' (a JSON object).", 'body'));
      continue;
    }
    const model = (body as Record<string, unknown>).model;
    if (typeof model !== 'string' || model === '') {
      report(problem('missing_required_parameter', n, "Missing required parameter: 'body.model'.", 'body.model'));
      continue;
    }
    if (out.model === undefined) out.model = model;
    else if (model !== out.model) {
      report(problem('mismatched_model', n, `All requests in a batch file must use the same model: line ${n} uses '${model}', earlier lines use '${out.model}'.`, 'body.model'));
      continue;
    }
    count(out, (body as Record<string, unknown>).input, countTokens);
    out.lines.push({ line: n, customId: l.custom_id, body });
  }
  if (out.errors.length === 0) {
    if (out.lines.length === 0) report(problem('empty_file', null, 'The batch input file is empty.'));
    else if (out.lines.length > limits.maxRequests)
      report(problem('too_many_requests', null, `A batch may contain at most ${limits.maxRequests} requests; this file has ${out.lines.length}.`));
    else if (endpoint === '/v1/embeddings' && out.inputs > limits.maxInputs)
      report(problem('too_many_embedding_inputs', null, `An embeddings batch may contain at most ${limits.maxInputs} inputs across all requests; this file has ${out.inputs}.`));
  }
  return out;
}
