/**
 * The two file chores every batch backend shares: rewriting the pipeline's request file (OpenAI's
 * batch JSONL, batch-submit.ts) into a provider's own line format, and reading a result file back
 * as lines from a stream. Both stream; neither holds a file in memory.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { createInterface } from 'node:readline';

/** One line of the pipeline's request file: `custom_id` and an OpenAI `/v1/embeddings` body. */
export interface RequestLine {
  custom_id: string;
  body: { model: string; input: string[]; dimensions?: number; encoding_format?: string };
}

/**
 * Writes each request line of `path` as the records `toRecords` makes of it (one JSON line each)
 * to a temporary .jsonl file named after the original, hands that file to `use`, and removes it.
 */
export async function withRewrittenRequests<T>(path: string, toRecords: (line: RequestLine) => unknown[], use: (rewritten: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'embedq-batch-'));
  try {
    const rewritten = join(dir, basename(path).endsWith('.jsonl') ? basename(path) : `${basename(path)}.jsonl`);
    const out = createWriteStream(rewritten);
    // Lines of a file we wrote ourselves, each a bounded request: readline is fine here.
    for await (const raw of createInterface({ input: createReadStream(path), crlfDelay: Infinity })) {
      if (!raw.trim()) continue;
      for (const r of toRecords(JSON.parse(raw) as RequestLine)) if (!out.write(`${JSON.stringify(r)}\n`)) await new Promise((ok) => out.once('drain', ok));
    }
    await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())));
    return await use(rewritten);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The non-empty lines of a byte stream (a result file's content). */
export async function* streamLines(body: AsyncIterable<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let rest = '';
  for await (const chunk of body) {
    rest += decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = rest.indexOf('\n')) >= 0) {
      const line = rest.slice(0, nl);
      rest = rest.slice(nl + 1);
      if (line.trim()) yield line;
    }
  }
  rest += decoder.decode();
  if (rest.trim()) yield rest;
}
