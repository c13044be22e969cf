import { PassThrough } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, test } from 'vitest';
import { REDACT_PATHS } from '../../src/logger.ts';

describe('logger', () => {
  test('secrets are redacted wherever they sit in a log object', async () => {
    const out = new PassThrough();
    const lines: string[] = [];
    out.on('data', (d: Buffer) => lines.push(d.toString()));
    const log = pino({ level: 'info', redact: { paths: REDACT_PATHS, censor: '***' } }, out);
    log.info({ apiKey: 'sk-live-1', openai: { apiKey: 'sk-live-2' }, headers: { authorization: 'Bearer sk-live-3' }, jobId: 'j1', tenant: 'acme', model: 'openai/x@1:8' }, 'call');
    await new Promise((r) => setImmediate(r));
    const line = JSON.parse(lines.join(''));
    expect(JSON.stringify(line)).not.toMatch(/sk-live/);
    expect(line).toMatchObject({ apiKey: '***', openai: { apiKey: '***' }, headers: { authorization: '***' }, jobId: 'j1', tenant: 'acme', model: 'openai/x@1:8' });
  });
});
