/** Helpers the provider adapter tests share: recording what an adapter sends and reports, and its failures. */
import { expect } from 'vitest';
import type { ProviderError } from '../../src/errors.ts';
import type { EmbedCall } from '../../src/providers/types.ts';

/** Collects every attempt an `embed` reports through `onCall`. */
export function recorder() {
  const calls: EmbedCall[] = [];
  return { calls, onCall: (c: EmbedCall) => calls.push(c) };
}

/** A fetch that keeps each JSON request body as it left the adapter, then sends it. */
export function recordingFetch(): { bodies: Record<string, unknown>[]; fetch: typeof fetch } {
  const bodies: Record<string, unknown>[] = [];
  return {
    bodies,
    fetch: (input, init) => {
      if (typeof init?.body === 'string') bodies.push(JSON.parse(init.body) as Record<string, unknown>);
      return fetch(input, init);
    },
  };
}

/** The error a call that must fail rejects with (the test fails if it resolves). */
export const failure = (p: Promise<unknown>) => p.then(() => expect.unreachable('resolved'), (e: unknown) => e as ProviderError);
