/**
 * Waiting for an end state without racing a timer: `waitFor` polls until `check` returns a
 * value (anything but undefined, null or false) and returns it. The deadline is a safety net
 * for a hung run, far beyond what a loaded machine needs, and its error says what never came.
 */
import { setTimeout as sleep } from 'node:timers/promises';

export async function waitFor<T>(check: () => Promise<T | undefined | null | false> | T | undefined | null | false, what: string, { timeoutMs = 50_000, everyMs = 50 } = {}): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== null && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`waited ${timeoutMs / 1000} s for ${what}; it never happened`);
    await sleep(everyMs);
  }
}

/** {@link waitFor} on a value read again each time until `ok` holds; the error shows the last value read. */
export async function waitUntil<T>(what: string, read: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 90_000): Promise<T> {
  let last: T | undefined;
  try {
    return await waitFor(async () => {
      last = await read();
      return ok(last) ? { v: last } : undefined;
    }, what, { timeoutMs, everyMs: 100 }).then((r) => r.v);
  } catch (e) {
    throw new Error(`${(e as Error).message}; last seen ${JSON.stringify(last)}`);
  }
}
