import { describe, expect, test } from 'vitest';
import { ServiceUnavailableError } from '../../src/errors.ts';
import { OutageReporter, lostService } from '../../src/outage.ts';

const urls = { redisUrl: 'redis://127.0.0.1:56379', databaseUrl: 'postgres://embedq:pw@127.0.0.1:55432/embedq' };
const netError = (code: string, port: number) => Object.assign(new Error(`connect ${code} 127.0.0.1:${port}`), { code, port });

describe('lostService', () => {
  test('tells lost Postgres and Redis connections from other errors', () => {
    expect(lostService(new Error('Connection terminated unexpectedly'), urls)).toBe('postgres');
    expect(lostService(Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }), urls)).toBe('postgres');
    expect(lostService(netError('ECONNREFUSED', 55432), urls)).toBe('postgres');
    expect(lostService(netError('ECONNREFUSED', 56379), urls)).toBe('redis');
    expect(lostService(new Error('Connection is closed.'), urls)).toBe('redis');
    // A provider on another port, a bad query, wrong credentials: not an outage to wait out.
    expect(lostService(netError('ECONNREFUSED', 8443), urls)).toBeUndefined();
    expect(lostService(Object.assign(new Error('syntax error at or near "SELEC"'), { code: '42601' }), urls)).toBeUndefined();
    expect(lostService(new ServiceUnavailableError('postgres', 'postgres://x', 'authentication failed'), urls)).toBeUndefined();
    expect(lostService(new ServiceUnavailableError('redis', 'redis://x', 'connection refused'), urls)).toBe('redis');
  });
});

describe('OutageReporter', () => {
  test('one line when a service goes away however often it is told, one when it is back; URLs redacted', () => {
    const lines: string[] = [];
    const r = new OutageReporter((l) => lines.push(l), urls);
    for (let i = 0; i < 5; i++) r.down('postgres', new Error('Connection terminated unexpectedly'));
    r.up('redis'); // was not down: nothing to say
    r.up('postgres');
    r.up('postgres');
    expect(lines).toEqual([
      'Postgres went away (postgres://embedq:***@127.0.0.1:55432/embedq: Connection terminated unexpectedly); waiting to reconnect…',
      expect.stringMatching(/^Postgres is back after \d+\.\ds; carrying on$/),
    ]);
  });
});
