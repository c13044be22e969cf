/** UTF-8 checks for the readers: where the first bad byte is, for a reason a person can find. */
import { isUtf8 } from 'node:buffer';

/**
 * Index of the first byte of `buf` that does not belong to a well-formed UTF-8 sequence (WHATWG
 * rules: no overlongs, no surrogates, nothing above U+10FFFF), or -1 if there is none. A sequence
 * cut off by the end of `buf` counts as bad. Only run after `isUtf8` said no, so speed is moot.
 */
export function firstInvalidUtf8(buf: Uint8Array): number {
  let i = 0;
  while (i < buf.length) {
    const b = buf[i]!;
    if (b < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) need = 1;
    else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      if (b === 0xe0) lo = 0xa0;
      if (b === 0xed) hi = 0x9f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      if (b === 0xf0) lo = 0x90;
      if (b === 0xf4) hi = 0x8f;
    } else return i;
    if (i + need >= buf.length) return i;
    const second = buf[i + 1]!;
    if (second < lo || second > hi) return i;
    for (let k = 2; k <= need; k++) {
      const c = buf[i + k]!;
      if (c < 0x80 || c > 0xbf) return i;
    }
    i += need + 1;
  }
  return -1;
}

/**
 * Decodes UTF-8 bytes per the reader's `invalidUtf8` policy: `{ text }`, or `{ badByte }` (the
 * offset of the first bad byte within `buf`) when the policy is `reject`. `replace` substitutes
 * U+FFFD. A leading byte-order mark is dropped.
 */
export function decodeUtf8(buf: Buffer, invalidUtf8: 'reject' | 'replace'): { text: string } | { badByte: number } {
  if (invalidUtf8 === 'reject' && !isUtf8(buf)) return { badByte: firstInvalidUtf8(buf) };
  const start = buf.length >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf ? 3 : 0;
  return { text: buf.toString('utf8', start) };
}
