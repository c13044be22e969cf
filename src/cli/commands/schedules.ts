import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { Context } from '../../context.ts';
import { UsageError } from '../../errors.ts';
import { assertTenant } from '../../tenant.ts';
import { SYSTEM_SCHEDULES } from '../../../jobs/catalog.ts';
import { scheduledIngestJob, scheduleIngest, type ScheduledIngestPayload } from '../../../jobs/scheduled-ingest.ts';
import { parseRepeat } from '../parse.ts';
import { assertSafeName } from '../../store/identifiers.ts';
import { getIndex } from '../../store/indexes.ts';
import type { CommandEnv } from '../command.ts';
import { table } from '../output.ts';
import { readFields, type RecordFlags } from '../parse.ts';

export interface ScheduleRow {
  name: string;
  kind: 'system' | 'ingest';
  repeat: string;
  next: string | null;
  what: string;
}

const USER_PREFIX = 'user-';

export async function runSchedulesList(ctx: Context): Promise<ScheduleRow[]> {
  const { queues } = ctx;
  const rows: ScheduleRow[] = [];
  // Every queue that holds job schedulers: the system schedules' and the re-syncs'.
  for (const q of new Set([...SYSTEM_SCHEDULES.map((x) => x.queue), scheduledIngestJob.queue].map((name) => queues[name]))) {
    for (const s of await q.getJobSchedulers(0, -1, true)) {
      const sys = SYSTEM_SCHEDULES.find((x) => x.name === s.key);
      const data = (s.template?.data ?? {}) as Partial<ScheduledIngestPayload>;
      rows.push({
        name: s.key,
        kind: sys ? 'system' : 'ingest',
        repeat: s.pattern ? `cron ${s.pattern}` : `every ${fmtMs(Number(s.every))}`,
        next: s.next ? new Date(s.next).toISOString() : null,
        what: sys ? sys.what : `ingest ${(data.paths ?? []).join(' ')} --index ${data.index} --tenant ${data.tenant}`,
      });
    }
  }
  // Listing changes nothing: system schedules a worker has not declared yet are shown as such.
  for (const sys of SYSTEM_SCHEDULES)
    if (!rows.some((r) => r.name === sys.name))
      rows.push({ name: sys.name, kind: 'system', repeat: `every ${fmtMs(sys.every(ctx.config))}`, next: null, what: `${sys.what} (declared when a worker starts)` });
  return rows.sort((a, b) => (a.kind === b.kind ? a.name.localeCompare(b.name) : a.kind === 'system' ? -1 : 1));
}

function fmtMs(ms: number): string {
  for (const [u, n] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) if (ms % n === 0) return `${ms / n}${u}`;
  return `${ms}ms`;
}

export interface SchedulesAddOptions extends RecordFlags {
  kind: string;
  paths: string[];
  index: string;
  every?: string;
  cron?: string;
  name?: string;
  tenant?: string;
  mode?: string;
  followSymlinks?: boolean;
}

export async function runSchedulesAdd(ctx: Context, o: SchedulesAddOptions): Promise<ScheduleRow> {
  if (o.kind !== 'ingest') throw new UsageError(`only "ingest" schedules exist, e.g. embedq schedules add --every 1h ingest ./docs --index docs (got ${JSON.stringify(o.kind)})`);
  if (o.paths.length === 0) throw new UsageError('give the paths to re-sync');
  const index = assertSafeName(o.index);
  if (!(await getIndex(ctx.db, index))) throw new UsageError(`index ${index} does not exist: ingest it once first, then schedule re-syncs`);
  const tenant = assertTenant(o.tenant ?? ctx.config.defaultTenant);
  const mode = o.mode ?? 'sync';
  if (mode !== 'sync' && mode !== 'batch') throw new UsageError('--mode must be sync or batch');
  const name = `${USER_PREFIX}${o.name ?? `${index}-${tenant}`}`;
  if (!/^[a-z0-9][a-z0-9_-]{0,80}$/.test(name)) throw new UsageError(`--name must be lower-case letters, digits, _ and -`);
  const repeat = parseRepeat(o);
  readFields(o); // refuses bad record flags now, not at the first re-sync
  const fields = { ...(o.textField ? { textField: o.textField } : {}), ...(o.idField ? { idField: o.idField } : {}), ...(o.metadataColumns ? { metadataColumns: o.metadataColumns } : {}) };
  const data: ScheduledIngestPayload = {
    index,
    tenant,
    paths: o.paths.map((p) => resolve(p)),
    mode,
    ...(o.globalIds ? { globalIds: true } : {}),
    ...(Object.keys(fields).length ? { fields } : {}),
    ...(o.followSymlinks ? { followSymlinks: true } : {}),
  };
  await scheduleIngest(ctx, name, repeat, data);
  return (await runSchedulesList(ctx)).find((r) => r.name === name)!;
}

export async function runSchedulesRemove(ctx: Context, name: string): Promise<boolean> {
  const { queues } = ctx;
  if (SYSTEM_SCHEDULES.some((s) => s.name === name)) throw new UsageError(`${name} is a system schedule; it cannot be removed`);
  const key = name.startsWith(USER_PREFIX) ? name : `${USER_PREFIX}${name}`;
  return await queues.schedules.removeJobScheduler(key);
}

const show = (r: ScheduleRow[]) => (r.length === 0 ? 'no schedules' : table(['NAME', 'KIND', 'REPEAT', 'NEXT RUN', 'WHAT'], r.map((s) => [s.name, s.kind, s.repeat, s.next ?? '-', s.what])));

export function register(program: Command, env: CommandEnv): void {
  const sch = program.command('schedules').description('scheduled jobs: batch polling, cache GC, spend rollup, and source re-syncs you add');
  sch.command('list').description('every schedule with its next run').option('--json', 'print the result as JSON').action(env.handler(async (ctx, out) => (out.result(await runSchedulesList(ctx), show), 0)));
  sch
    .command('add')
    .description('re-sync a source on a schedule: changed files are re-embedded, deleted files removed (upserted by --name)')
    .argument('<kind>', 'what to schedule: ingest')
    .argument('<paths...>', 'files, directories or globs')
    .requiredOption('--index <name>', 'index to keep in sync')
    .option('--every <interval>', 'e.g. 30m, 1h, 1d')
    .option('--cron <expr>', 'a cron expression, e.g. "0 * * * *"')
    .option('--name <name>', 'schedule name (default: <index>-<tenant>)')
    .option('--tenant <id>', 'tenant (default: config defaultTenant)')
    .option('--mode <mode>', 'sync or batch', 'sync')
    .option('--global-ids', 'JSONL/CSV ids are unique across files, as `embedq ingest --global-ids`')
    .option('--text-field <name>', 'JSONL field or CSV column with the text, as `embedq ingest --text-field`')
    .option('--id-field <name>', 'JSONL field or CSV column with the document id, as `embedq ingest --id-field`')
    .option('--metadata-columns <a,b,...>', 'CSV columns kept as metadata, as `embedq ingest --metadata-columns`')
    .option('--follow-symlinks', 'read links out of the roots and walk links to directories, as `embedq ingest --follow-symlinks`')
    .option('--json', 'print the result as JSON')
    .addHelpText('after', '\nGive it the flags the source was first ingested with: a re-sync reads it the same way.\n\nExamples:\n  embedq schedules add --every 1h ingest ./docs --index docs\n  embedq schedules add --cron "0 3 * * *" ingest ./faq.csv --index faq --text-field body --metadata-columns lang,product')
    .action(
      env.handler(async (ctx, out, kind: string, paths: string[], o: Omit<SchedulesAddOptions, 'kind' | 'paths'>) => {
        out.result(await runSchedulesAdd(ctx, { kind, paths, ...o }), (r) => `schedule ${r.name}: ${r.repeat}, next ${r.next ?? '-'}\n  ${r.what}`);
        return 0;
      }),
    );
  sch
    .command('remove')
    .description('remove a source re-sync schedule')
    .argument('<name>', 'the schedule name (as listed)')
    .option('--json', 'print the result as JSON')
    .action(env.handler(async (ctx, out, name: string) => (out.result({ removed: await runSchedulesRemove(ctx, name) }, (r) => (r.removed ? 'removed' : 'no such schedule')), 0)));
}
