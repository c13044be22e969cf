/**
 * Deployments and failover (issue #12 item 5): a model served by two deployments of one model
 * version. Deployment A answers 503, so B serves and the ledger shows both; A comes back after
 * its cooldown (a test clock, no waiting); a deployment of another vector space is refused.
 */
import { runIngest } from '../../src/cli/commands/ingest.ts';
import { formatLog, runLog } from '../../src/cli/commands/log.ts';
import { openServer } from '../../src/server/app.ts';
import { createMetrics } from '../../src/server/metrics.ts';
import { parseConfig } from '../../src/config/schema.ts';
import { ConfigError } from '../../src/errors.ts';
import { deploymentsOf, listDeployments, switchDeployment } from '../../src/providers/deployments.ts';
import { createProvider } from '../../src/providers/index.ts';
import { resolveModel } from '../../src/providers/models.ts';
import { DeploymentRouter } from '../../src/providers/router.ts';
import type { EmbedCall } from '../../src/providers/types.ts';
import { getIndex } from '../../src/store/indexes.ts';
import { prose, writeCorpus } from '../support/corpus.ts';
import { expect, test } from '../support/fixtures.ts';
import { withSim } from '../support/sim-context.ts';
import { startSimulator, type Simulator, type SimulatorOptions } from '../support/simulator/index.ts';
import type { Context } from '../../src/context.ts';

const MODEL = 'openai/text-embedding-3-small';

/** The built-in openai provider (A, the withSim simulator) first, a second OpenAI endpoint (B) after it. */
function config(b: Simulator, extra: Record<string, unknown> = {}) {
  return {
    providers: { 'openai-b': { kind: 'openai', baseUrl: b.url, apiKey: 'sk-b-0123456789abcdef' } },
    deployments: { [MODEL]: [{ provider: 'openai' }, { provider: 'openai-b', priority: 1 }] },
    ...extra,
  };
}

/** Simulator A (withSim's, the built-in openai) and B, configured as deployments (by default config(b)). */
async function withDeployments(fn: (a: Simulator, b: Simulator, ctx: Context) => Promise<void>, bOpts: SimulatorOptions = {}, settings: (b: Simulator) => Record<string, unknown> = config): Promise<void> {
  const b = await startSimulator(bOpts);
  try {
    await withSim((a, ctx) => fn(a, b, ctx), settings(b));
  } finally {
    await b.close();
  }
}

const down = (sim: Simulator) => sim.set({ faultRate: 1, faultKinds: ['503'] });
const up = (sim: Simulator) => sim.set({ faultRate: 0 });

test('A answers 503, so B serves: the index is whole, its vectors are A\'s vector space, and the ledger shows both deployments', async () => {
  await withDeployments(async (a, b, ctx) => {
    down(a);
    const files: Record<string, string> = {};
    for (let i = 0; i < 6; i++) files[`d${i}.txt`] = prose(i + 40, 10);
    const r = await runIngest(ctx, { paths: [writeCorpus(files)], index: 'fo', model: MODEL, dims: 256, chunkTokens: 60, chunkOverlap: 0 });
    expect(r).toMatchObject({ failedJobs: 0 });
    expect(r.embedded).toBe(r.chunks);
    // The vectors stay under the model's own version key, whichever deployment made them.
    expect((await getIndex(ctx.db, 'fo'))!.live.modelKey).toBe(`${MODEL}@1:256`);
    expect(b.stats().inputs).toBe(r.chunks);
    expect(a.stats().inputs).toBe(0);

    const { rows } = await ctx.db.query<{ provider: string; deployment: string; status: string; http_status: number | null; failover: boolean; inputs: number }>(
      `SELECT provider, deployment, status, http_status, failover, inputs FROM ledger WHERE status <> 'cache_hit' ORDER BY id`,
    );
    const onA = rows.filter((x) => x.deployment === 'openai');
    const onB = rows.filter((x) => x.deployment === 'openai-b');
    expect(onA.length).toBeGreaterThan(0);
    expect(onA.every((x) => x.status === 'retry' && x.http_status === 503)).toBe(true);
    expect(onB.every((x) => x.status === 'ok')).toBe(true);
    expect(onB.reduce((s, x) => s + x.inputs, 0)).toBe(r.chunks);
    expect(onB.some((x) => x.failover)).toBe(true);
    // `provider` is the model version's provider on every row: spend stays with the model.
    expect(rows.every((x) => x.provider === 'openai')).toBe(true);

    // Retries and failovers are counted in the metrics and shown by `embedq log`.
    const text = await createMetrics({ ctx, queues: ctx.queues }).scrape();
    const key = `model="${MODEL}@1:256"`;
    expect(text).toContain(`embedq_deployment_requests_total{${key},deployment="openai",status="retry"} ${onA.length}`);
    expect(text).toContain(`embedq_deployment_requests_total{${key},deployment="openai-b",status="ok"} ${onB.length}`);
    expect(text).toContain(`embedq_failovers_total{${key},deployment="openai-b"} ${onB.filter((x) => x.failover).length}`);
    const log = formatLog(await runLog(ctx, { limit: 1000 }));
    expect(log).toMatch(/DEPLOYMENT/);
    expect(log).toMatch(/openai-b \(failover\) +sync +ok/);
    expect(log).toMatch(/ openai +sync +retry 503/);

    // The invariant: B's vectors are valid in an index of A's. A, healthy again, embeds a
    // stored chunk's text to the very vector B stored for it.
    up(a);
    const { rows: stored } = await ctx.db.query<{ text: string; embedding: string }>(
      `SELECT c.text, v.embedding::text AS embedding FROM chunks c JOIN ${(await getIndex(ctx.db, 'fo'))!.live.tableName} v ON v.chunk_id = c.id LIMIT 1`,
    );
    const model = resolveModel(MODEL, 256, {}, ctx.config.providers);
    const direct = await createProvider(model, { openai: ctx.config.openai });
    const [fromA] = (await direct.embed([stored[0]!.text])).vectors;
    const fromB = JSON.parse(stored[0]!.embedding) as number[];
    expect(fromB.reduce((s, x, i) => s + x * fromA![i]!, 0)).toBeCloseTo(1, 5);
  });
});

test('OpenAI with Azure OpenAI behind it: OpenAI answers 503, Azure serves the same vectors through its deployment', async () => {
  await withDeployments(async (a, b, ctx) => {
    const model = resolveModel(MODEL, 512, {}, ctx.config.providers);
    const provider = await createProvider(model, ctx.config, { routing: { redis: ctx.redis, prefix: ctx.config.redisPrefix } });
    const healthy = await provider.embed(['azure is the failover']);
    down(a);
    const calls: EmbedCall[] = [];
    const failed = await provider.embed(['azure is the failover'], { onCall: (c) => calls.push(c) });
    expect(calls.map((c) => `${c.deployment}:${c.status}`)).toEqual(['openai:retry', 'azure:ok']);
    expect(b.stats().log.at(-1)).toMatchObject({ path: '/openai/deployments/emb-small-prod/embeddings', dimensions: 512 });
    expect(failed.vectors[0]).toEqual(healthy.vectors[0]);
  }, { azureDeployments: { 'emb-small-prod': 'text-embedding-3-small' } }, (b) => ({
    providers: { azure: { kind: 'azure-openai', baseUrl: b.azureUrl.replace(/\/openai$/, ''), apiKey: 'az-0123456789abcdef', models: { 'text-embedding-3-small': { deployment: 'emb-small-prod' } } } },
    deployments: { [MODEL]: [{ provider: 'openai' }, { provider: 'azure', priority: 1 }] },
  }));
});

test('a failing deployment cools down, then a probe finds it well and it takes the traffic again', async () => {
  await withDeployments(async (a, b, ctx) => {
    let clock = 1_000_000;
    const model = resolveModel(MODEL, 256, {}, ctx.config.providers);
    const provider = await createProvider(model, ctx.config, { routing: { redis: ctx.redis, prefix: ctx.config.redisPrefix, now: () => clock } });
    const embed = async () => {
      const calls: EmbedCall[] = [];
      await provider.embed(['alpha beta', 'gamma delta'], { onCall: (c) => calls.push(c) });
      return calls.map((c) => `${c.deployment}:${c.status}${c.httpStatus ? ` ${c.httpStatus}` : ''}${c.failover ? ' failover' : ''}`);
    };
    const stateOf = async (name: string) => (await listDeployments({ redis: ctx.redis, config: ctx.config, now: () => clock })).find((d) => d.deployment === name)!;

    down(a);
    expect(await embed()).toEqual(['openai:retry 503', 'openai-b:ok 200 failover']);
    expect(await stateOf('openai')).toMatchObject({ state: 'open', fails: 1 });
    // While A cools down, requests go straight to B: A sees none.
    const aRequests = a.stats().requests;
    expect(await embed()).toEqual(['openai-b:ok 200']);
    expect(a.stats().requests).toBe(aRequests);

    // A recovers; once its cooldown has passed, the next request probes it and it is closed again.
    up(a);
    clock += ctx.config.failover.cooldownMs + 1;
    expect((await stateOf('openai')).state).toBe('half-open');
    expect(await embed()).toEqual(['openai:ok 200']);
    expect(await stateOf('openai')).toMatchObject({ state: 'closed', fails: 0 });
    expect(await embed()).toEqual(['openai:ok 200']);

    // A probe that fails opens it again for another cooldown.
    down(a);
    expect(await embed()).toEqual(['openai:retry 503', 'openai-b:ok 200 failover']);
    clock += ctx.config.failover.cooldownMs + 1;
    expect(await embed()).toEqual(['openai:retry 503', 'openai-b:ok 200 failover']);
    expect(await stateOf('openai')).toMatchObject({ state: 'open', fails: 2 });
  });
});

test('a disabled deployment takes no request, and an enabled one takes them again', async () => {
  await withDeployments(async (a, b, ctx) => {
    const model = resolveModel(MODEL, 256, {}, ctx.config.providers);
    const provider = await createProvider(model, ctx.config, { routing: { redis: ctx.redis, prefix: ctx.config.redisPrefix } });
    const admin = { redis: ctx.redis, config: ctx.config };
    expect(await switchDeployment(admin, 'openai', undefined, true)).toEqual([MODEL]);
    await provider.embed(['one', 'two']);
    expect(a.stats().requests).toBe(0);
    expect(b.stats().requests).toBe(1);
    await switchDeployment(admin, 'openai-b', MODEL, true);
    await expect(provider.embed(['three'])).rejects.toThrow(/every deployment of openai\/text-embedding-3-small is disabled/);
    await switchDeployment(admin, 'openai', undefined, false);
    await provider.embed(['four']);
    expect(a.stats().requests).toBe(1);
    await expect(switchDeployment(admin, 'azure', undefined, true)).rejects.toThrow(/azure is not a deployment in the config \(deployments: openai, openai-b\)/);
  });
});

test('the admin API lists deployments and switches them under the admin token', async () => {
  await withDeployments(async (_a, b, ctx) => {
    const token = 'admin-token-0123456789abcdef';
    const server = openServer({ config: { ...ctx.config, adminToken: token }, db: ctx.db, logger: ctx.logger });
    try {
      const auth = { authorization: `Bearer ${token}` };
      const json = { ...auth, 'content-type': 'application/json' };
      expect((await server.app.request('/admin/deployments')).status).toBe(401);
      expect((await server.app.request('/admin/deployments/disable', { method: 'POST', body: '{"deployment":"openai"}', headers: { 'content-type': 'application/json' } })).status).toBe(401);
      const listed = await server.app.request('/admin/deployments', { headers: auth });
      expect(listed.status).toBe(200);
      const names = (await listed.json()) as { deployments: { deployment: string; disabled: boolean; state: string }[] };
      expect(names.deployments.map((d) => [d.deployment, d.state, d.disabled])).toEqual([
        ['openai', 'closed', false],
        ['openai-b', 'closed', false],
      ]);
      // A form post (what another site could make a browser send) is refused before it is read.
      expect((await server.app.request('/admin/deployments/disable', { method: 'POST', body: 'deployment=openai', headers: { ...auth, 'content-type': 'application/x-www-form-urlencoded' } })).status).toBe(415);
      const off = await server.app.request('/admin/deployments/disable', { method: 'POST', body: JSON.stringify({ deployment: 'openai', model: MODEL }), headers: json });
      expect(off.status).toBe(200);
      expect(await off.json()).toEqual({ deployment: 'openai', models: [MODEL], disabled: true });
      expect((await listDeployments({ redis: ctx.redis, config: ctx.config })).find((d) => d.deployment === 'openai')!.disabled).toBe(true);
      const unknown = await server.app.request('/admin/deployments/enable', { method: 'POST', body: JSON.stringify({ deployment: 'azure' }), headers: json });
      expect(unknown.status).toBe(404);
      expect(((await unknown.json()) as { error: { message: string } }).error.message).toMatch(/azure is not a deployment/);
      expect((await server.app.request('/admin/deployments/enable', { method: 'POST', body: JSON.stringify({ deployment: 'openai', model: MODEL }), headers: json })).status).toBe(200);
      expect((await listDeployments({ redis: ctx.redis, config: ctx.config })).every((d) => !d.disabled)).toBe(true);
    } finally {
      await server.close();
    }
  });
});

test('only deployments of one model version may substitute: another version, size or model is refused, naming the path', () => {
  const providers = { 'openai-b': { kind: 'openai', baseUrl: 'http://127.0.0.1:9/v1', apiKey: 'sk-b-0123456789abcdef' } };
  const deployments = { [MODEL]: [{ provider: 'openai' }, { provider: 'openai-b' }] };
  const of = (extra: Record<string, unknown>, dims = 256) => {
    const c = parseConfig({ providers, deployments, ...extra });
    return deploymentsOf(resolveModel(MODEL, dims, {}, c.providers), c);
  };
  expect(of({})!.map((d) => d.model.key)).toEqual([`${MODEL}@1:256`, `openai-b/text-embedding-3-small@1:256`]);
  const refusal = (extra: Record<string, unknown>) => {
    try {
      of(extra);
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      return (e as ConfigError).message;
    }
    throw new Error('not refused');
  };
  expect(refusal({ models: { 'openai-b/text-embedding-3-small': { version: '2' } } })).toMatch(
    /deployments\.openai\/text-embedding-3-small\.1\.provider: openai-b\/text-embedding-3-small is text-embedding-3-small@2 .*Only deployments of one model version may substitute/,
  );
  expect(refusal({ providers: { 'openai-b': { ...providers['openai-b'], models: { 'text-embedding-3-small': { nativeDims: 1024 } } } } })).toMatch(/native 1024/);
  expect(refusal({ providers: { 'openai-b': { kind: 'openai-compatible', baseUrl: 'http://127.0.0.1:9/v1' } } })).toMatch(/openai-b cannot serve text-embedding-3-small/);
});

test('config: a deployment naming an unknown provider, or one twice, is one clear line naming the path', () => {
  const refused = (deployments: unknown) => {
    try {
      parseConfig({ deployments });
    } catch (e) {
      return (e as ConfigError).message;
    }
    throw new Error('not refused');
  };
  expect(refused({ [MODEL]: [{ provider: 'openai' }, { provider: 'azur' }] })).toMatch(/deployments\.openai\/text-embedding-3-small\.1\.provider.*a known provider, not "azur"/);
  expect(refused({ [MODEL]: [{ provider: 'openai' }, { provider: 'openai' }] })).toMatch(/deployments\.openai\/text-embedding-3-small\.1\.provider.*each provider once per model/);
  expect(refused({ [MODEL]: [{ provider: 'openai', weigth: 2 }] })).toMatch(/deployments\.openai\/text-embedding-3-small\.0\.weigth.*did you mean "deployments\.openai\/text-embedding-3-small\.0\.weight"/);
});

test('routing: weighted among the closed deployments of the best priority; lower priorities only when those are out', async () => {
  await withSim(async (_a, ctx) => {
    let r = 0;
    let clock = 5_000;
    const router = new DeploymentRouter(ctx.redis, {
      prefix: ctx.config.redisPrefix,
      model: 'tei/bge-m3',
      deployments: [
        { name: 'gpu-a', priority: 0, weight: 3 },
        { name: 'gpu-b', priority: 0, weight: 1 },
        { name: 'cpu', priority: 1, weight: 1 },
      ],
      failover: { failures: 2, cooldownMs: 600_000, retryAfterMs: 0 },
      random: () => r,
      now: () => clock,
    });
    const pickAt = async (x: number, exclude: string[] = []) => ((r = x), router.pick(new Set(exclude)));
    // Weights 3:1 split [0, 1) at 0.75.
    expect([await pickAt(0), await pickAt(0.74), await pickAt(0.75), await pickAt(0.99)]).toEqual(['gpu-a', 'gpu-a', 'gpu-b', 'gpu-b']);
    expect(await pickAt(0.99, ['gpu-b'])).toBe('gpu-a');
    expect(await pickAt(0, ['gpu-a', 'gpu-b'])).toBe('cpu');
    // One failure is below the threshold of 2: still closed. The second opens it.
    await router.failed('gpu-a', '503');
    expect(await pickAt(0)).toBe('gpu-a');
    await router.failed('gpu-a', '503');
    expect(await pickAt(0)).toBe('gpu-b');
    // Every deployment out: none, unless as a last resort (the one whose cooldown ends first).
    await router.failed('gpu-b', '503');
    await router.failed('gpu-b', '503');
    expect(await pickAt(0, ['cpu'])).toBe(undefined);
    expect(await router.pick(new Set(['cpu']), true)).toBe('gpu-a');
    // After the cooldown one caller takes the probe; the next finds it taken and goes on.
    clock += 600_001;
    expect(await pickAt(0, ['cpu'])).toBe('gpu-a');
    expect(await pickAt(0, ['cpu'])).toBe('gpu-b');
    expect(await pickAt(0, ['cpu'])).toBe(undefined);
  });
});

test('through the gateway: A answers 503, B serves the online request; the headers and the ledger say so', async () => {
  await withDeployments(async (a, b, ctx) => {
    const { createApiKey } = await import('../../src/gateway/keys.ts');
    const { secret } = await createApiKey(ctx.db, 'acme');
    const server = openServer(ctx);
    try {
      down(a);
      const res = await server.app.request('/v1/embeddings', {
        method: 'POST',
        headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: MODEL, input: ['failover online', 'second input'], dimensions: 256 }),
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('x-embedq-deployment')).toBe('openai-b');
      expect(res.headers.get('x-embedq-provider')).toBe('openai');
      expect(res.headers.get('x-embedq-model-version')).toBe(`${MODEL}@1:256`);
      expect(b.stats().inputs).toBe(2);
      const { rows } = await ctx.db.query(`SELECT status, deployment, failover, http_status FROM ledger WHERE mode = 'online' ORDER BY id`);
      expect(rows).toEqual([
        { status: 'retry', deployment: 'openai', failover: false, http_status: 503 },
        { status: 'ok', deployment: 'openai-b', failover: true, http_status: 200 },
        { status: 'served', deployment: 'openai-b', failover: false, http_status: 200 },
      ]);
      // Both down: the client gets a 503 in OpenAI's envelope, the provider's message with it.
      down(b);
      const fail = await server.app.request('/v1/embeddings', {
        method: 'POST',
        headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: MODEL, input: 'nobody answers', dimensions: 256 }),
      });
      expect(fail.status).toBe(503);
      expect(await fail.json()).toEqual({ error: { message: expect.stringMatching(/overloaded/), type: 'api_error', param: null, code: 'upstream_unavailable' } });
    } finally {
      await server.close();
    }
  });
});
