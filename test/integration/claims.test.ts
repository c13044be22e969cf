/** Input claims in real Redis: one owner per input, handed over on release or when the owner dies. */
import { InputClaims } from '../../src/queue/claims.ts';
import { expect, test } from '../support/fixtures.ts';

test('a claim is held by one owner, taken over by that owner again, released only by it', async ({ ctx }) => {
  const claims = new InputClaims(ctx.redis, ctx.config.redisPrefix, 60_000);
  expect(await claims.claim('job-a', ['h1', 'h2'])).toEqual(new Set());
  expect(await claims.claim('job-b', ['h2', 'h3'])).toEqual(new Set(['h2']));
  // A retried attempt of job-a takes its own claims back at once.
  expect(await claims.claim('job-a', ['h1', 'h2'])).toEqual(new Set());
  // Nobody releases another owner's claim.
  await claims.release('job-b', ['h1', 'h2', 'h3']);
  expect(await claims.claim('job-c', ['h1', 'h2', 'h3'])).toEqual(new Set(['h1', 'h2']));
  const released = claims.released(['h1', 'h2']);
  await claims.release('job-a', ['h1', 'h2']);
  await released;
  expect(await claims.claim('job-d', ['h1', 'h2'])).toEqual(new Set());
});

test('the claims of an owner that dies lapse after their TTL, and a waiting job goes on', async ({ ctx }) => {
  const claims = new InputClaims(ctx.redis, ctx.config.redisPrefix, 300);
  expect(await claims.claim('dead-job', ['x1'])).toEqual(new Set());
  expect(await claims.claim('live-job', ['x1'])).toEqual(new Set(['x1']));
  // Nothing releases x1: only its expiry ends the wait.
  await claims.released(['x1']);
  expect(await claims.claim('live-job', ['x1'])).toEqual(new Set());
});
