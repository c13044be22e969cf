import { pino, type Logger } from 'pino';
import { redactUrls } from './config/redact.ts';

export type { Logger };

/** Paths pino redacts wherever they appear in a log object. */
export const REDACT_PATHS = ['apiKey', '*.apiKey', '*.*.apiKey', 'authorization', '*.authorization', 'headers.authorization', 'password', '*.password'];

/** Structured JSON logs on stderr (stdout is for command output), secrets redacted: by path, and URL passwords in every string field and message. */
export function createLogger(level: string, base: Record<string, unknown> = {}): Logger {
  return pino(
    {
      level,
      base: { ...base },
      redact: { paths: REDACT_PATHS, censor: '***' },
      formatters: { log: (o) => redactStrings(o, 2) as Record<string, unknown> },
      hooks: {
        logMethod(args, method) {
          method.apply(this, args.map((a) => (typeof a === 'string' ? redactUrls(a) : a)) as Parameters<typeof method>);
        },
      },
    },
    pino.destination(2),
  );
}

function redactStrings(v: unknown, depth: number): unknown {
  if (typeof v === 'string') return redactUrls(v);
  if (depth === 0 || v === null || typeof v !== 'object') return v;
  if (v instanceof Error) return { type: v.name, message: redactUrls(v.message), stack: redactUrls(v.stack ?? '') };
  if (Array.isArray(v)) return v.map((x) => redactStrings(x, depth - 1));
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, redactStrings(x, depth - 1)]));
}
