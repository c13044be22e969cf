import type { Command } from 'commander';
import type { Context } from '../../context.ts';
import { redactUrl } from '../../config/redact.ts';
import { pingRedis } from '../../queue/connection.ts';
import { QUEUES } from '../../queue/names.ts';
import { liveWorkers } from '../../../workers/heartbeat.ts';
import { openBatchesByStatus } from '../../store/batches.ts';
import { listLiveIndexes } from '../../store/indexes.ts';
import { schemaState } from '../../store/migrate.ts';
import { serverVersions } from '../../store/server-info.ts';
import type { CommandEnv } from '../command.ts';
import { table } from '../output.ts';

export interface StatusResult {
  redis: { url: string; version: string };
  postgres: { url: string; version: string; pgvector: string | null; schema: string; migrationsApplied: number; pendingMigrations: string[] };
  queues: Record<string, { waiting: number; active: number; delayed: number; failed: number; completed: number }>;
  workers: number;
  /** Provider batches not read back yet, by status. */
  openBatches: Record<string, number>;
  indexes: { name: string; modelVersion: string; dims: number; rows: number; state: string }[];
}

/** `embedq status`: services, schema and indexes. Throws one clear error when a service is down. */
export async function runStatus(ctx: Context): Promise<StatusResult> {
  const redis = await pingRedis(ctx.config.redisUrl);
  const { version, pgvector } = await serverVersions(ctx.db);
  const schema = await schemaState(ctx.db, ctx.config.dbSchema);
  let indexes: StatusResult['indexes'] = [];
  let openBatches: Record<string, number> = {};
  if (schema.exists && schema.pending.length === 0) {
    openBatches = await openBatchesByStatus(ctx.db);
    indexes = (await listLiveIndexes(ctx.db, ctx.config.dbSchema)).map((i) => ({ name: i.name, modelVersion: i.modelKey, dims: i.dims, rows: i.rows, state: i.state }));
  }
  const { queues } = ctx;
  const queueCounts: StatusResult['queues'] = {};
  let workers = 0;
  for (const name of Object.values(QUEUES)) {
    const c = await queues[name].getJobCounts('waiting', 'active', 'delayed', 'failed', 'completed', 'prioritized');
    queueCounts[name] = { waiting: (c.waiting ?? 0) + (c.prioritized ?? 0), active: c.active ?? 0, delayed: c.delayed ?? 0, failed: c.failed ?? 0, completed: c.completed ?? 0 };
  }
  workers = await liveWorkers(ctx.redis, ctx.config.redisPrefix);
  return {
    redis: { url: redactUrl(ctx.config.redisUrl), version: redis.version },
    postgres: {
      url: redactUrl(ctx.config.databaseUrl),
      version,
      pgvector,
      schema: ctx.config.dbSchema,
      migrationsApplied: schema.applied,
      pendingMigrations: schema.pending,
    },
    queues: queueCounts,
    workers,
    openBatches,
    indexes,
  };
}

export function formatStatus(s: StatusResult): string {
  const lines = [
    `redis     ${s.redis.url}  (redis ${s.redis.version})`,
    `postgres  ${s.postgres.url}  (PostgreSQL ${s.postgres.version}, pgvector ${s.postgres.pgvector ?? 'not installed in this database'})`,
    `schema    ${s.postgres.schema}: ${s.postgres.migrationsApplied} migrations applied` +
      (s.postgres.pendingMigrations.length ? `, ${s.postgres.pendingMigrations.length} pending — run \`embedq db migrate\`` : ''),
  ];
  lines.push(
    '',
    table(
      ['QUEUE', 'WAITING', 'ACTIVE', 'DELAYED', 'FAILED', 'COMPLETED'],
      Object.entries(s.queues).map(([n, c]) => [n, c.waiting, c.active, c.delayed, c.failed, c.completed]),
    ),
    `workers   ${s.workers} running`,
    `batches   ${Object.keys(s.openBatches).length ? Object.entries(s.openBatches).map(([k, v]) => `${v} ${k}`).join(', ') : 'none open'}  (embedq batches list)`,
  );
  if (s.indexes.length) {
    lines.push('', table(['INDEX', 'MODEL VERSION', 'DIMS', 'ROWS', 'STATE'], s.indexes.map((i) => [i.name, i.modelVersion, i.dims, i.rows, i.state])));
  } else if (s.postgres.pendingMigrations.length === 0) {
    lines.push('', 'no indexes yet — `embedq ingest <paths> --index NAME` creates one');
  }
  return lines.join('\n');
}

export function register(program: Command, env: CommandEnv): void {
  program
    .command('status')
    .description('show services, schema, queues and indexes')
    .option('--json', 'print the result as JSON')
    .action(
      env.handler(async (ctx, out) => {
        out.result(await runStatus(ctx), formatStatus);
        return 0;
      }),
    );
}
