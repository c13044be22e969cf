/** Reads one text or Markdown file as one document. */
import { open, type FileHandle } from 'node:fs/promises';
import { resolve } from 'node:path';
import { docIdFor } from './doc-id.ts';
import { normalizeText } from '../normalize.ts';
import { DEFAULT_MAX_FILE_BYTES, describeFsError, formatSize } from './limits.ts';
import type { ReadItem, ReadOptions } from './types.ts';
import { decodeUtf8 } from './utf8.ts';

const SNIFF_BYTES = 8 * 1024;
const READ_CHUNK = 1024 * 1024;

export { docIdFor } from './doc-id.ts';

/**
 * Reads a text/Markdown file into one normalized {@link SourceDoc}, or a rejection: over
 * `maxFileBytes` (decided from `stat`, before reading a byte), empty, binary (NUL bytes or
 * mostly control bytes in the first 8 KiB), UTF-16, NUL bytes anywhere (Postgres text cannot hold
 * them), invalid UTF-8 under `invalidUtf8: 'reject'` (naming the first bad byte), or no text
 * once normalized.
 */
export async function readTextFile(path: string, opts: ReadOptions & { baseDir?: string }): Promise<ReadItem> {
  const abs = resolve(path);
  const max = opts.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  const reject = (reason: string): ReadItem => ({ kind: 'rejected', path: abs, reason });
  let fh: FileHandle;
  try {
    fh = await open(abs, 'r');
  } catch (e) {
    return reject(describeFsError(e));
  }
  let buf: Buffer;
  try {
    const st = await fh.stat();
    if (!st.isFile()) return reject('not a regular file');
    if (st.size > max) return reject(tooLarge(st.size, max));
    const read = await readCapped(fh, max);
    if ('reason' in read) return reject(read.reason);
    buf = read;
  } catch (e) {
    return reject(describeFsError(e));
  } finally {
    await fh.close();
  }
  if (buf.length === 0) return reject('empty file');
  const nul = buf.indexOf(0);
  if (nul >= 0) return reject(`contains NUL bytes (first at byte ${nul}), which Postgres text cannot store`);
  const decoded = decodeUtf8(buf, opts.invalidUtf8);
  if ('badByte' in decoded) return reject(`invalid UTF-8 at byte ${decoded.badByte} (invalidUtf8 'replace' would substitute U+FFFD)`);
  const text = normalizeText(decoded.text);
  if (text.length === 0) return reject('no text');
  return { kind: 'doc', docId: docIdFor(abs, opts.baseDir), source: abs, text };
}

function tooLarge(size: number, max: number): string {
  return `file is ${formatSize(size)}, over the ${formatSize(max)} limit for one document (maxFileBytes)`;
}

/**
 * Reads the file in chunks, sniffing the first for binary content so that a large binary file
 * is rejected after one chunk, and stopping at `max` bytes in case the file grew after `stat`.
 */
async function readCapped(fh: FileHandle, max: number): Promise<Buffer | { reason: string }> {
  const chunks: Buffer[] = [];
  let total = 0;
  for (;;) {
    const chunk = Buffer.allocUnsafe(READ_CHUNK);
    const { bytesRead } = await fh.read(chunk, 0, READ_CHUNK, total);
    if (bytesRead === 0) break;
    if (total === 0) {
      const why = binaryReason(chunk.subarray(0, Math.min(bytesRead, SNIFF_BYTES)));
      if (why !== undefined) return { reason: why };
    }
    total += bytesRead;
    if (total > max) return { reason: tooLarge(total, max) };
    chunks.push(bytesRead === READ_CHUNK ? chunk : chunk.subarray(0, bytesRead));
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total);
}

/** Why the first bytes of a file look binary, or undefined if they look like text. */
export function binaryReason(head: Uint8Array): string | undefined {
  if (head.length >= 2 && ((head[0] === 0xff && head[1] === 0xfe) || (head[0] === 0xfe && head[1] === 0xff))) {
    return 'UTF-16 text (convert it to UTF-8)';
  }
  let control = 0;
  for (const b of head) {
    if (b === 0) return 'binary file (NUL bytes)';
    // Tab, LF, VT, FF, CR and ESC (ANSI colours in logs) are text.
    if ((b < 0x20 && !(b >= 9 && b <= 13) && b !== 0x1b) || b === 0x7f) control++;
  }
  return control > head.length * 0.1 ? 'binary file (control bytes)' : undefined;
}
