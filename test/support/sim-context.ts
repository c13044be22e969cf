/** A migrated, isolated context whose OpenAI base URL is a fresh provider simulator. */
import { createContext, type Context } from '../../src/context.ts';
import { createLogger } from '../../src/logger.ts';
import { migrate } from '../../src/store/migrate.ts';
import { releaseIsolated, testConfig } from './fixtures.ts';
import { startSimulator, type Simulator, type SimulatorOptions } from './simulator/index.ts';

/** Like the `ctx` fixture, the schema and keys are kept when the test fails inside `fn`. */
export async function withSim<T>(fn: (sim: Simulator, ctx: Context) => Promise<T>, overrides: Record<string, unknown> = {}, simOpts: SimulatorOptions = {}): Promise<T> {
  const sim = await startSimulator(simOpts);
  const ctx = createContext(testConfig({ openai: { baseUrl: sim.url, apiKey: 'sk-test-0123456789' }, cohere: { baseUrl: sim.cohereUrl, apiKey: 'co-test-0123456789' }, ...overrides }), { logger: createLogger('silent') });
  await migrate(ctx.db, ctx.config.dbSchema);
  let failed = true;
  try {
    const out = await fn(sim, ctx);
    failed = false;
    return out;
  } finally {
    await releaseIsolated(ctx, failed);
    await sim.close();
  }
}
