/** Runs the real `bin/embedq` as a child process, for end-to-end tests. */
import type { Context } from '../../src/context.ts';
import { spawn } from 'node:child_process';
import { join } from 'node:path';

export const BIN = join(import.meta.dirname, '..', '..', 'bin', 'embedq');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function runCli(args: string[], env: Record<string, string | undefined> = {}, opts: { cwd?: string; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: opts.cwd,
      env: { ...process.env, EMBEDQ_LOG_LEVEL: 'silent', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

/** The environment that points a spawned `embedq` at a test context's services, schema and Redis prefix. */
export function contextEnv(ctx: Context): Record<string, string> {
  return {
    REDIS_URL: ctx.config.redisUrl,
    DATABASE_URL: ctx.config.databaseUrl,
    EMBEDQ_DB_SCHEMA: ctx.config.dbSchema,
    EMBEDQ_REDIS_PREFIX: ctx.config.redisPrefix,
  };
}

/**
 * The environment of an `embedq worker` a test spawns against the provider simulator: the test's
 * services and namespace, the simulator as OpenAI, a short job lock (a killed worker's jobs come
 * back within seconds), no logs; `extra` adds or overrides.
 */
export function simWorkerEnv(ctx: Context, simUrl: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...process.env, ...contextEnv(ctx), OPENAI_BASE_URL: simUrl, OPENAI_API_KEY: 'sk-test-0123456789', EMBEDQ_WORKER_LOCK_MS: '2000', EMBEDQ_LOG_LEVEL: 'silent', ...extra };
}
