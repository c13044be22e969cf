/**
 * `embedq deployments disable` in one process takes effect in another (issue #12 item 5): the
 * switch is in Redis, read for every request, so a standalone `embedq worker` started before it
 * sends nothing to the disabled deployment, and sends to it again once it is enabled.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runIngest } from '../../src/cli/commands/ingest.ts';
import { createContext } from '../../src/context.ts';
import { createLogger } from '../../src/logger.ts';
import { migrate } from '../../src/store/migrate.ts';
import { contextEnv, runCli, simWorkerEnv } from '../support/cli.ts';
import { spawnCli } from '../support/cli-live.ts';
import { prose, writeCorpus } from '../support/corpus.ts';
import { dropNamespace, expect, test, testConfig, uniqueName } from '../support/fixtures.ts';
import { startSimulator } from '../support/simulator/index.ts';

const MODEL = 'openai/text-embedding-3-small';

test('deployments disable in one process holds in a running worker process, and enable undoes it', async () => {
  const a = await startSimulator();
  const b = await startSimulator();
  const schema = uniqueName('e2e');
  const settings = {
    providers: { 'openai-b': { kind: 'openai', baseUrl: b.url, apiKey: 'sk-b-0123456789abcdef' } },
    deployments: { [MODEL]: [{ provider: 'openai' }, { provider: 'openai-b', priority: 1 }] },
  };
  const file = join(writeCorpus({}), 'embedq.config.json');
  writeFileSync(file, JSON.stringify(settings));
  const ctx = createContext(testConfig({ dbSchema: schema, redisPrefix: schema, openai: { baseUrl: a.url, apiKey: 'sk-test-0123456789' }, ...settings }), { logger: createLogger('silent') });
  await migrate(ctx.db, schema);
  const env = { ...simWorkerEnv(ctx, a.url), EMBEDQ_CONFIG: file };
  const worker = spawnCli(['worker'], env, { timeoutMs: 120_000 });
  try {
    await worker.waitForStderr(/embedq worker: ready/);
    const off = await runCli(['deployments', 'disable', 'openai', '--json'], env);
    expect(off.code).toBe(0);
    expect(JSON.parse(off.stdout)).toEqual({ deployment: 'openai', models: [MODEL], disabled: true });
    const listed = await runCli(['deployments', 'list', '--json'], { ...contextEnv(ctx), EMBEDQ_CONFIG: file, OPENAI_BASE_URL: a.url, OPENAI_API_KEY: 'sk-test-0123456789' });
    expect(JSON.parse(listed.stdout).map((d: { deployment: string; disabled: boolean }) => [d.deployment, d.disabled])).toEqual([
      ['openai', true],
      ['openai-b', false],
    ]);

    const first = await runIngest(ctx, { paths: [writeCorpus({ 'a.txt': prose(1, 8), 'b.txt': prose(2, 8) })], index: 'dep', model: MODEL, dims: 256, chunkTokens: 60, chunkOverlap: 0, localWorker: false });
    expect(first.embedded).toBe(first.chunks);
    expect(a.stats().requests).toBe(0);
    expect(b.stats().inputs).toBe(first.chunks);

    expect((await runCli(['deployments', 'enable', 'openai'], env)).code).toBe(0);
    const second = await runIngest(ctx, { paths: [writeCorpus({ 'c.txt': prose(3, 8) })], index: 'dep', chunkTokens: 60, chunkOverlap: 0, localWorker: false });
    expect(second.embedded).toBe(second.chunks);
    expect(a.stats().inputs).toBe(second.chunks);
    expect(b.stats().inputs).toBe(first.chunks);

    const { rows } = await ctx.db.query<{ deployment: string; inputs: number }>(`SELECT deployment, sum(inputs)::int AS inputs FROM ledger WHERE status = 'ok' AND mode = 'sync' GROUP BY 1 ORDER BY 1`);
    expect(rows).toEqual([
      { deployment: 'openai', inputs: second.chunks },
      { deployment: 'openai-b', inputs: first.chunks },
    ]);

    const unknown = await runCli(['deployments', 'disable', 'azure'], env);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/azure is not a deployment in the config \(deployments: openai, openai-b\)/);
  } finally {
    if (worker.child.exitCode === null) worker.child.kill('SIGTERM');
    await worker.done;
    await ctx.close();
    await dropNamespace(schema);
    await a.close();
    await b.close();
  }
}, 120_000);
