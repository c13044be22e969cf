/**
 * The simulator's HTTP plumbing: request bodies (JSON, or multipart/form-data for file uploads),
 * routes with `:param` segments, and deterministic helpers (ids, shuffles) the API modules share.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { seedValue } from '../../../src/providers/local.ts';

/** A body that could not be parsed (JSON syntax error or a broken multipart stream). */
export const UNPARSABLE = Symbol.for('unparsable');

/** One uploaded file of a multipart body. */
export interface SimUpload {
  filename: string;
  contentType: string;
  data: Buffer;
}

/** A parsed multipart/form-data body: text fields and files by field name (the last one wins). */
export interface SimForm {
  kind: 'form';
  fields: Record<string, string>;
  files: Record<string, SimUpload>;
}

export function isForm(body: unknown): body is SimForm {
  return typeof body === 'object' && body !== null && (body as { kind?: unknown }).kind === 'form';
}

async function readAll(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/**
 * Reads and parses the body: multipart/form-data by its content type (undici's own parser, via
 * `Response.formData()`), anything else as JSON, as the embeddings route always did (clients
 * often post JSON without a content type). `undefined` for an empty body.
 */
export async function parseBody(req: IncomingMessage): Promise<unknown> {
  const raw = await readAll(req);
  const type = req.headers['content-type'] ?? '';
  if (/^multipart\/form-data/i.test(type)) {
    try {
      const form: SimForm = { kind: 'form', fields: {}, files: {} };
      for (const [name, value] of await new Response(raw, { headers: { 'content-type': type } }).formData()) {
        if (typeof value === 'string') form.fields[name] = value;
        else form.files[name] = { filename: value.name, contentType: value.type, data: Buffer.from(await value.arrayBuffer()) };
      }
      return form;
    } catch {
      return UNPARSABLE;
    }
  }
  const text = raw.toString('utf8');
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return UNPARSABLE;
  }
}

/** Waits for the first chunk of the body (or its end), so a reset lands in the middle of an upload. */
export function awaitFirstChunk(req: IncomingMessage): Promise<void> {
  return new Promise((resolve) => {
    req.once('data', () => resolve());
    req.once('end', () => resolve());
    req.once('error', () => resolve());
  });
}

/**
 * Finds the route for `METHOD /path`: an exact key first, then keys with `:name` segments
 * (`GET /v1/files/:id/content`), whose values come back as `params`.
 */
export function matchRoute<R>(routes: Record<string, R>, method: string, path: string): { route: R; params: Record<string, string> } | undefined {
  const exact = routes[`${method} ${path}`];
  if (exact) return { route: exact, params: {} };
  const segments = path.split('/');
  for (const [key, route] of Object.entries(routes)) {
    const [m, pattern] = key.split(' ') as [string, string];
    if (m !== method || !pattern.includes('/:')) continue;
    const parts = pattern.split('/');
    if (parts.length !== segments.length) continue;
    const params: Record<string, string> = {};
    if (parts.every((p, i) => (p.startsWith(':') ? segments[i] !== '' && ((params[p.slice(1)] = decodeURIComponent(segments[i]!)), true) : p === segments[i]))) return { route, params };
  }
  return undefined;
}

/** `prefix` + random hex, like the providers' opaque ids. */
export function newId(prefix: string, hexChars = 24): string {
  return `${prefix}${randomBytes(Math.ceil(hexChars / 2)).toString('hex').slice(0, hexChars)}`;
}

/** A small seeded PRNG (mulberry32) returning floats in [0, 1). */
export function seededRandom(seed: string | number): () => number {
  let s = seedValue(seed);
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A permutation of 0..n-1 that depends only on `seed` (Fisher-Yates over `seededRandom`). */
export function seededPermutation(n: number, seed: string | number): number[] {
  const out = Array.from({ length: n }, (_, i) => i);
  const rnd = seededRandom(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** Query parameter as an integer within [min, max], `fallback` when absent; undefined when malformed. */
export function intParam(query: URLSearchParams, name: string, fallback: number, min: number, max: number): number | undefined {
  const raw = query.get(name);
  if (raw === null || raw === '') return fallback;
  const n = Number(raw);
  return Number.isInteger(n) && n >= min && n <= max ? n : undefined;
}

/** Unix seconds, as OpenAI's timestamps are. */
export const unixSeconds = (ms: number): number => Math.floor(ms / 1000);
