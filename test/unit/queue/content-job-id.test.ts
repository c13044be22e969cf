/** contentJobId: the same work always gets the same BullMQ job id, and different work never shares one. */
import { describe, expect, test } from 'vitest';
import { contentJobId } from '../../../src/queue/names.ts';

describe('contentJobId', () => {
  test('is stable: the same parts give the same id, today and in jobs enqueued by an earlier release', () => {
    expect(contentJobId('embed', 'run-1', 7, Buffer.from('abc'))).toBe(contentJobId('embed', 'run-1', 7, Buffer.from('abc')));
    // Pinned (sha256 of "5:run-1" then "1:7"): a changed derivation would stop deduplicating
    // against jobs already in Redis.
    expect(contentJobId('embed', 'run-1', 7)).toBe('embed-269049a2d89a7b12fcea68cd602de4189fd040a6');
  });

  test('is the kind, a dash and 40 hex digits, with no ":" even when the parts have one', () => {
    const id = contentJobId('ingest', 'tenant:acme', 'a:b:c', Buffer.from([0x3a, 0x00, 0xff]));
    expect(id).toMatch(/^ingest-[0-9a-f]{40}$/);
    expect(id).not.toContain(':');
  });

  test('part boundaries count: "ab"+"c", "a"+"bc", "abc" and "a"+"b"+"c" are four ids', () => {
    const ids = [contentJobId('k', 'ab', 'c'), contentJobId('k', 'a', 'bc'), contentJobId('k', 'abc'), contentJobId('k', 'a', 'b', 'c')];
    expect(new Set(ids).size).toBe(4);
    // A part that looks like the length prefix does not collide either.
    expect(contentJobId('k', '1:a', 'b')).not.toBe(contentJobId('k', '1', 'a', 'b'));
    expect(new Set([contentJobId('k', '', 'a'), contentJobId('k', 'a', ''), contentJobId('k', 'a'), contentJobId('k')]).size).toBe(4);
  });

  test('the kind is part of the id: the same parts under two kinds are two jobs', () => {
    expect(contentJobId('embed', 'x')).not.toBe(contentJobId('finalize', 'x'));
    expect(contentJobId('embed', 'x').slice(-40)).toBe(contentJobId('finalize', 'x').slice(-40));
  });
});
