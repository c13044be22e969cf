/**
 * A byte-level line splitter for record files. Not `readline`: readline builds every line as a
 * string however long it is, so one 2 GB line without a newline would be held in memory whole.
 * Here a line over the limit is counted while its bytes stream past and are dropped.
 */

export type Line = {
  /** Byte offset of the line's first byte in the file. */
  offset: number;
  /** Length in bytes, without the `\n`. */
  length: number;
  /** The line's bytes without the `\n`; undefined when `length` is over the limit (they were discarded). */
  bytes: Buffer | undefined;
};

/**
 * Splits a stream of chunks into `\n`-terminated lines (a `\r` before the `\n` is kept: callers
 * strip it). The last line is yielded even without a final newline, unless it is empty. Memory
 * is bounded by `maxLineBytes` plus one chunk, whatever the input.
 *
 * @param opts.maxLineBytes longest line whose bytes are kept
 * @param opts.startOffset file offset of the first chunk's first byte @default 0
 */
export async function* splitLines(chunks: AsyncIterable<Buffer>, opts: { maxLineBytes: number; startOffset?: number }): AsyncGenerator<Line> {
  let parts: Buffer[] = [];
  let length = 0;
  let over = false;
  let offset = opts.startOffset ?? 0;
  const take = (): Line => {
    const bytes = over ? undefined : parts.length === 1 ? parts[0]! : Buffer.concat(parts, length);
    const line = { offset, length, bytes };
    offset += length + 1;
    parts = [];
    length = 0;
    over = false;
    return line;
  };
  for await (const chunk of chunks) {
    let i = 0;
    while (i < chunk.length) {
      const nl = chunk.indexOf(10, i);
      const end = nl === -1 ? chunk.length : nl;
      if (!over) {
        if (length + (end - i) > opts.maxLineBytes) {
          over = true;
          parts = [];
        } else parts.push(chunk.subarray(i, end));
      }
      length += end - i;
      if (nl === -1) break;
      yield take();
      i = nl + 1;
    }
  }
  if (length > 0) yield take();
}
