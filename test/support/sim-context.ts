/** A migrated, isolated context whose OpenAI base URL is a fresh provider simulator. */
import { createContext, type Context } from '../../src/context.ts';
import { createLogger } from '../../src/logger.ts';
import { migrate } from '../../src/store/migrate.ts';
import { dropIsolated, testConfig } from './fixtures.ts';
import { startSimulator, type Simulator, type SimulatorOptions } from './simulator/index.ts';

export async function withSim<T>(fn: (sim: Simulator, ctx: Context) => Promise<T>, overrides: Record<string, unknown> = {}, simOpts: SimulatorOptions = {}): Promise<T> {
  const sim = await startSimulator(simOpts);
  const ctx = createContext(testConfig({ openai: { baseUrl: sim.url, apiKey: 'sk-test-0123456789' }, cohere: { baseUrl: sim.cohereUrl, apiKey: 'co-test-0123456789' }, ...overrides }), { logger: createLogger('silent') });
  await migrate(ctx.db, ctx.config.dbSchema);
  try {
    return await fn(sim, ctx);
  } finally {
    await dropIsolated(ctx);
    await ctx.close();
    await sim.close();
  }
}
