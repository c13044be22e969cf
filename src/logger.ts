import { pino, type Logger } from 'pino';

export type { Logger };

/** Paths pino redacts wherever they appear in a log object. */
export const REDACT_PATHS = ['apiKey', '*.apiKey', '*.*.apiKey', 'authorization', '*.authorization', 'headers.authorization', 'password', '*.password'];

/** Structured JSON logs on stderr (stdout is for command output), secrets redacted. */
export function createLogger(level: string, base: Record<string, unknown> = {}): Logger {
  return pino({ level, base: { ...base }, redact: { paths: REDACT_PATHS, censor: '***' } }, pino.destination(2));
}
