/**
 * The zod atoms the job payload schemas share (each job's schema sits next to its payload type;
 * `jobs/validate.ts` is the one place that checks a job against them). A worker treats a payload
 * as untrusted input: it came out of Redis, which anything with the Redis URL can write to.
 */
import { isAbsolute, normalize } from 'node:path';
import { z } from 'zod';
import { isSafeName } from '../src/store/identifiers.ts';
import { TENANT_PATTERN, TENANT_RULE } from '../src/tenant.ts';

/** A logical index name, as `assertSafeName` accepts it. */
export const indexName = z.string().refine(isSafeName, 'a safe index name (a lower-case letter, then letters, digits or _, at most 40)');

/** A tenant id, or `*`: a reembed's backfill, which spans every tenant. */
export const tenantId = z.string().refine((t) => t === '*' || TENANT_PATTERN.test(t), `a tenant id (${TENANT_RULE}) or *`);

/** A run id: `<base36 time>-<hex>` for ingest runs, longer forms for reembeds and batches. */
export const runId = z.string().regex(/^[A-Za-z0-9_-]{1,120}$/, 'a run id');

/** An absolute, normalized path: no `..` or `.` segments to walk out of a root with. */
export const absolutePath = z
  .string()
  .min(1)
  .max(4096)
  .refine((p) => isAbsolute(p) && normalize(p) === p && !p.includes('\0'), 'an absolute, normalized path');

export const positiveId = z.number().int().positive();

/** The payload of a job a system schedule makes: no data. */
export const noData = z.strictObject({}) satisfies z.ZodType<Record<string, never>>;
