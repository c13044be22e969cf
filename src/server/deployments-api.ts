/**
 * The deployments under the admin token, as `embedq deployments` has them: `GET /admin/deployments`
 * and `POST /admin/deployments/disable|enable` with `{"deployment": "azure", "model"?: "openai/…"}`.
 * Writes must be JSON, which a cross-site form cannot send, and need the token in the
 * Authorization header (no cookie), so another site cannot ride on a browser's login.
 */
import type { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { Config } from '../config/schema.ts';
import { UsageError } from '../errors.ts';
import { listDeployments, switchDeployment } from '../providers/deployments.ts';
import { requireToken } from './auth.ts';

export const DEPLOYMENTS_PATH = '/admin/deployments';

const switchBody = z.strictObject({ deployment: z.string().min(1).max(64), model: z.string().min(1).max(300).optional() });

export function mountDeployments(app: Hono, deps: { redis: Redis; config: Config; adminToken: string }): void {
  const admin = { redis: deps.redis, config: deps.config };
  app.use(DEPLOYMENTS_PATH, requireToken(deps.adminToken, DEPLOYMENTS_PATH));
  app.use(`${DEPLOYMENTS_PATH}/*`, requireToken(deps.adminToken, DEPLOYMENTS_PATH));
  app.get(DEPLOYMENTS_PATH, async (c) => c.json({ deployments: await listDeployments(admin) }));
  for (const [verb, disabled] of [
    ['disable', true],
    ['enable', false],
  ] as const)
    app.post(`${DEPLOYMENTS_PATH}/${verb}`, async (c) => {
      if (!/^application\/json\b/i.test(c.req.header('content-type') ?? '')) throw new HTTPException(415, { message: 'send JSON: {"deployment": "<name>", "model": "<provider/model>"?}' });
      const parsed = switchBody.safeParse(await c.req.json().catch(() => undefined));
      if (!parsed.success) throw new HTTPException(400, { message: 'expected {"deployment": "<name>", "model": "<provider/model>"?}' });
      try {
        const models = await switchDeployment(admin, parsed.data.deployment, parsed.data.model, disabled);
        return c.json({ deployment: parsed.data.deployment, models, disabled });
      } catch (e) {
        if (e instanceof UsageError) throw new HTTPException(404, { message: e.message });
        throw e;
      }
    });
}
