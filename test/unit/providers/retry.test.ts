import { describe, expect, test } from 'vitest';
import { backoffDelay, parseGoDuration, parseRateLimitHeaders, rateLimitedWaitMs, retryAfterMs } from '../../../src/providers/retry.ts';
import { formatGoDuration } from '../../support/simulator/rate-window.ts';

describe('parseGoDuration', () => {
  test.each([
    ['20ms', 20],
    ['1s', 1000],
    ['6m0s', 360_000],
    ['1m30.5s', 90_500],
    ['51.189s', 51_189],
    ['1h2m3.5s', 3_723_500],
    ['0s', 0],
    ['0', 0],
    ['500us', 0.5],
    ['250µs', 0.25],
    ['1500ns', 0.0015],
    ['.5s', 500],
    ['2', 2000], // bare seconds, as some compatible servers send
  ])('%s → %d ms', (text, ms) => {
    expect(parseGoDuration(text)).toBeCloseTo(ms, 6);
  });

  test.each(['', 'abc', '5x', '-1s', '1s garbage', 's', '1.2.3s'])('rejects %j', (text) => {
    expect(parseGoDuration(text)).toBeUndefined();
  });

  test('round-trips the simulator formatter', () => {
    for (const ms of [0, 1, 20, 999, 1000, 51_189, 59_999, 60_000, 360_000, 3_723_500]) expect(parseGoDuration(formatGoDuration(ms))).toBe(ms);
    expect(formatGoDuration(360_000)).toBe('6m0s');
    expect(formatGoDuration(51_189)).toBe('51.189s');
  });
});

describe('rateLimitedWaitMs: what a 429 asks to wait', () => {
  test('Retry-After exactly when present: retry-after-ms, then retry-after', () => {
    expect(rateLimitedWaitMs(new Headers({ 'retry-after-ms': '40', 'retry-after': '1', 'x-ratelimit-reset-requests': '6m0s' }))).toBe(40);
    expect(rateLimitedWaitMs(new Headers({ 'retry-after': '1', 'x-ratelimit-reset-requests': '20ms' }))).toBe(1000);
  });

  test('else the reset of the budget that ran out (Go durations)', () => {
    const h = (o: Record<string, string>) => new Headers(o);
    expect(rateLimitedWaitMs(h({ 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': '20ms', 'x-ratelimit-remaining-tokens': '900', 'x-ratelimit-reset-tokens': '6m0s' }))).toBe(20);
    expect(rateLimitedWaitMs(h({ 'x-ratelimit-remaining-requests': '7', 'x-ratelimit-reset-requests': '1s', 'x-ratelimit-remaining-tokens': '0', 'x-ratelimit-reset-tokens': '1m30.5s' }))).toBe(90_500);
    // Neither reported exhausted (a request larger than what is left): the longer reset.
    expect(rateLimitedWaitMs(h({ 'x-ratelimit-remaining-tokens': '10', 'x-ratelimit-reset-tokens': '1s', 'x-ratelimit-reset-requests': '20ms' }))).toBe(1000);
    expect(rateLimitedWaitMs(h({ 'x-ratelimit-remaining-requests': '0' }))).toBeUndefined();
    expect(rateLimitedWaitMs(undefined)).toBeUndefined();
  });
});

describe('retryAfterMs', () => {
  test('prefers retry-after-ms, then retry-after seconds, then an HTTP date', () => {
    expect(retryAfterMs(new Headers({ 'retry-after-ms': '1234', 'retry-after': '9' }))).toBe(1234);
    expect(retryAfterMs(new Headers({ 'retry-after': '2' }))).toBe(2000);
    const now = Date.parse('2026-05-01T00:00:00Z');
    expect(retryAfterMs(new Headers({ 'retry-after': 'Fri, 01 May 2026 00:00:05 GMT' }), now)).toBe(5000);
    expect(retryAfterMs(new Headers({ 'retry-after-ms': 'soon', 'retry-after': '1' }))).toBe(1000);
    expect(retryAfterMs(new Headers({}))).toBeUndefined();
    expect(retryAfterMs(undefined)).toBeUndefined();
  });
});

describe('parseRateLimitHeaders', () => {
  test('reads limits, remaining and Go-style resets', () => {
    const h = new Headers({
      'x-ratelimit-limit-requests': '3000',
      'x-ratelimit-limit-tokens': '1000000',
      'x-ratelimit-remaining-requests': '2999',
      'x-ratelimit-remaining-tokens': '999100',
      'x-ratelimit-reset-requests': '20ms',
      'x-ratelimit-reset-tokens': '6m0s',
    });
    expect(parseRateLimitHeaders(h)).toEqual({ limitRequests: 3000, limitTokens: 1_000_000, remainingRequests: 2999, remainingTokens: 999_100, resetRequestsMs: 20, resetTokensMs: 360_000 });
    expect(parseRateLimitHeaders(new Headers({ 'x-ratelimit-remaining-tokens': '5' }))).toEqual({ remainingTokens: 5 });
    expect(parseRateLimitHeaders(new Headers({ 'content-type': 'application/json' }))).toBeUndefined();
  });
});

describe('backoffDelay', () => {
  test('full jitter under an exponential ceiling, capped', () => {
    const top = () => 0.999999;
    expect(backoffDelay(1, {}, top)).toBe(499);
    expect(backoffDelay(2, {}, top)).toBe(999);
    expect(backoffDelay(4, {}, top)).toBe(3999);
    expect(backoffDelay(20, {}, top)).toBe(29_999);
    expect(backoffDelay(3, { baseMs: 10, capMs: 25 }, top)).toBe(24);
    expect(backoffDelay(5, {}, () => 0)).toBe(0);
  });
});
