/**
 * Brings the real services up once for the whole run (scripts/services.sh up is idempotent)
 * and hands their URLs to the tests through `inject('services')`.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    services: { redisUrl: string; databaseUrl: string };
  }
}

export default function setup(project: TestProject): void {
  const root = join(import.meta.dirname, '..', '..');
  execFileSync('bash', [join(root, 'scripts', 'services.sh'), 'up'], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, EMBEDQ_SERVICES_QUIET: '1' } });
  project.provide('services', {
    redisUrl: process.env.REDIS_URL ?? 'redis://127.0.0.1:56379',
    databaseUrl: process.env.DATABASE_URL ?? 'postgres://embedq@127.0.0.1:55432/embedq',
  });
}
