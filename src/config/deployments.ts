/**
 * The `deployments` and `failover` sections of the config: a model served by several
 * deployments of one model version (OpenAI and Azure OpenAI, two TEI replicas), and how a failing
 * one is cooled down. Parsed with the rest in schema.ts; the vector-space check (every deployment
 * of a model is the same model version) is src/providers/deployments.ts, which resolves models.
 */
import { z } from 'zod';
import { positiveInt } from './fields.ts';

/** One deployment of a model: a provider name (built in or under `providers`) serving the same model name. */
const deploymentSchema = z.strictObject({
  provider: z.string().regex(/^[a-z0-9_-]{1,32}$/, 'a provider name, e.g. openai or azure'),
  /** Lower is tried first; deployments of one priority share its traffic by weight. @default 0 */
  priority: z.coerce.number().int().min(0).max(1000).default(0),
  /** Share of its priority's traffic, relative to the others'. @default 1 */
  weight: positiveInt.max(1000).default(1),
});

/**
 * `deployments`: a model id (`provider/model`, the one an index is built with) → the
 * deployments that may serve it. @default {}
 * @example { "openai/text-embedding-3-small": [{ "provider": "openai" }, { "provider": "azure", "priority": 1 }] }
 */
export const deploymentsSchema = z
  .record(
    z.string().regex(/^[a-z0-9_-]+\/[^@\s]+$/, 'provider/model keys'),
    z.array(deploymentSchema).min(1).superRefine((list, ctx) => {
      const seen = new Set<string>();
      list.forEach((d, i) => {
        if (d.provider === 'local') ctx.addIssue({ code: 'custom', path: [i, 'provider'], message: 'a provider with an API; local/… runs in the worker and needs no failover' });
        if (seen.has(d.provider)) ctx.addIssue({ code: 'custom', path: [i, 'provider'], message: `each provider once per model, not ${d.provider} twice` });
        seen.add(d.provider);
      });
    }),
  )
  .default({});

/** How failing deployments are cooled down (a circuit breaker shared through Redis). */
export const failoverSchema = z
  .strictObject({
    /** Failed requests in a row that open a deployment's breaker. @default 1 */
    failures: positiveInt.max(100).default(1),
    /** How long an open breaker keeps new requests away; then one probe request may try it. @default 30000 */
    cooldownMs: positiveInt.default(30_000),
    /** A 429 asking to wait longer than this goes to the next deployment instead of waiting. @default 5000 */
    retryAfterMs: z.coerce.number().int().min(0).default(5_000),
  })
  .default({ failures: 1, cooldownMs: 30_000, retryAfterMs: 5_000 });

export type DeploymentsConfig = z.output<typeof deploymentsSchema>;
export type FailoverConfig = z.output<typeof failoverSchema>;
