/**
 * OpenAI's `POST /v1/embeddings` wire format, as embedq's gateway speaks it: the request parsed
 * and checked (every refusal names its `param`), the response encoded (`float` JSON numbers, or
 * `base64` little-endian float32 bytes, which the official SDKs send by default and decode), and
 * the error envelope `{"error":{"message","type","param","code"}}` every `/v1` answer uses.
 *
 * Sources (2026-12-02): platform.openai.com/docs/api-reference/embeddings/create (input: a string,
 * an array of strings, an array of token ids or an array of token-id arrays; at most 2,048 inputs;
 * no empty string; encoding_format float|base64; dimensions; user), and the openai Node SDK's
 * src/resources/embeddings.ts, which asks for base64 unless told otherwise and decodes it as
 * little-endian float32.
 */
import { endianness } from 'node:os';

/** Most inputs one request may carry. */
export const MAX_INPUTS = 2048;

/** One input as the client sent it: text, or token ids of the model's tokenizer. */
export type WireInput = { text: string } | { tokens: number[] };

export interface EmbeddingsRequest {
  model: string;
  inputs: WireInput[];
  encoding: 'float' | 'base64';
  dimensions?: number;
  user?: string;
  /** embedq's extension for providers that embed queries and documents differently. @default 'document' */
  inputType: 'query' | 'document';
}

/** What a `/v1` refusal carries: the status, and OpenAI's error fields. */
export class WireError extends Error {
  override name = 'WireError';
  readonly status: number;
  readonly type: string;
  readonly param: string | null;
  readonly code: string | null;
  readonly headers: Readonly<Record<string, string>>;
  constructor(status: number, message: string, o: { type?: string; param?: string | null; code?: string | null; headers?: Record<string, string> } = {}) {
    super(message);
    this.status = status;
    this.type = o.type ?? 'invalid_request_error';
    this.param = o.param ?? null;
    this.code = o.code ?? null;
    this.headers = o.headers ?? {};
  }

  /** The OpenAI error envelope. */
  body(): { error: { message: string; type: string; param: string | null; code: string | null } } {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

const bad = (param: string, message: string, code: string | null = null) => new WireError(400, message, { param, code });

const KNOWN = new Set(['model', 'input', 'encoding_format', 'dimensions', 'user', 'input_type']);

const isTokenId = (x: unknown): x is number => typeof x === 'number' && Number.isInteger(x) && x >= 0 && x <= 0xffff_ffff;

/** The inputs of `input`, in order, or a 400 naming where it is wrong. */
function parseInputs(input: unknown): WireInput[] {
  if (typeof input === 'string') {
    if (input.length === 0) throw bad('input', "'input' is an empty string; every input must be a non-empty string or token array", 'empty_input');
    return [{ text: input }];
  }
  if (!Array.isArray(input)) throw bad('input', "'input' must be a string, an array of strings, an array of token ids, or an array of token-id arrays");
  if (input.length === 0) throw bad('input', "'input' is an empty array; send at least one input", 'empty_input');
  if (input.every(isTokenId)) return [{ tokens: input }];
  if (input.length > MAX_INPUTS) throw bad('input', `'input' has ${input.length} items, more than the ${MAX_INPUTS} one request may carry; split it`, 'too_many_inputs');
  return input.map((x, i): WireInput => {
    if (typeof x === 'string') {
      if (x.length === 0) throw bad(`input[${i}]`, `input[${i}] is an empty string; every input must be non-empty`, 'empty_input');
      return { text: x };
    }
    if (Array.isArray(x) && x.length > 0 && x.every(isTokenId)) return { tokens: x };
    if (Array.isArray(x) && x.length === 0) throw bad(`input[${i}]`, `input[${i}] is an empty token array`, 'empty_input');
    throw bad(`input[${i}]`, `input[${i}] must be a string or an array of token ids (non-negative integers); one request does not mix them with bare numbers`);
  });
}

/**
 * Parses a request body (already JSON-decoded).
 * @throws WireError (400) naming the param at fault
 */
export function parseEmbeddingsRequest(body: unknown): EmbeddingsRequest {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw bad('body', 'the request body must be a JSON object with "model" and "input"');
  const b = body as Record<string, unknown>;
  for (const k of Object.keys(b)) if (!KNOWN.has(k)) throw bad(k, `unrecognized request argument supplied: ${k}`, 'unknown_parameter');
  if (typeof b.model !== 'string' || b.model.length === 0) throw bad('model', "'model' is required: a model id such as openai/text-embedding-3-small, or an alias from the config");
  if (b.input === undefined) throw bad('input', "'input' is required");
  const inputs = parseInputs(b.input);
  const encoding = b.encoding_format ?? 'float';
  if (encoding !== 'float' && encoding !== 'base64') throw bad('encoding_format', "'encoding_format' must be \"float\" or \"base64\"");
  let dimensions: number | undefined;
  if (b.dimensions !== undefined && b.dimensions !== null) {
    if (typeof b.dimensions !== 'number' || !Number.isInteger(b.dimensions) || b.dimensions < 1) throw bad('dimensions', "'dimensions' must be a positive integer");
    dimensions = b.dimensions;
  }
  if (b.user !== undefined && (typeof b.user !== 'string' || b.user.length > 256)) throw bad('user', "'user' must be a string of at most 256 characters");
  const inputType = b.input_type ?? 'document';
  if (inputType !== 'query' && inputType !== 'document') throw bad('input_type', "'input_type' must be \"query\" or \"document\"");
  return { model: b.model, inputs, encoding, ...(dimensions ? { dimensions } : {}), ...(typeof b.user === 'string' ? { user: b.user } : {}), inputType };
}

const LITTLE_ENDIAN = endianness() === 'LE';

/** A vector as little-endian float32 bytes in base64, exactly what the SDKs decode. */
export function encodeBase64(v: Float32Array): string {
  if (LITTLE_ENDIAN) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
  const b = Buffer.allocUnsafe(v.length * 4);
  for (let i = 0; i < v.length; i++) b.writeFloatLE(v[i]!, i * 4);
  return b.toString('base64');
}

/**
 * The response body as JSON text, built directly: one string per vector, no intermediate object
 * of 1,536 numbers per input for JSON.stringify to walk.
 */
export function encodeEmbeddingsResponse(vectors: readonly Float32Array[], encoding: 'float' | 'base64', model: string, promptTokens: number): string {
  const parts: string[] = [];
  for (let i = 0; i < vectors.length; i++) {
    const v = vectors[i]!;
    const embedding = encoding === 'base64' ? `"${encodeBase64(v)}"` : `[${v.join(',')}]`;
    parts.push(`{"object":"embedding","index":${i},"embedding":${embedding}}`);
  }
  return `{"object":"list","data":[${parts.join(',')}],"model":${JSON.stringify(model)},"usage":{"prompt_tokens":${promptTokens},"total_tokens":${promptTokens}}}`;
}
