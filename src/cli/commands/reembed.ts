import { userInfo } from 'node:os';
import type { Command } from 'commander';
import type { Context } from '../../context.ts';
import { UsageError } from '../../errors.ts';
import { enqueueBackfill } from '../../../jobs/backfill.ts';
import { resolveMode } from '../../pipeline/mode.ts';
import { resolveModelWithProbe } from '../../pipeline/probe.ts';
import { requireApiKey } from '../../providers/credentials.ts';
import { requireDeployments } from '../../providers/deployments.ts';
import { pingRedis } from '../../queue/connection.ts';
import { abort, cutover, retire, rollback, startReembed } from '../../reembed/controller.ts';
import { loadQueries } from '../../reembed/queries.ts';
import { currentReembed, reembedRunId, type Reembed } from '../../reembed/store.ts';
import { assertSafeName } from '../../store/identifiers.ts';
import { getIndex } from '../../store/indexes.ts';
import type { CommandEnv } from '../command.ts';
import { decimal, wholeNumber } from '../numbers.ts';
import { parseMode, type RunMode } from '../parse.ts';
import { runAndWait } from '../run-wait.ts';
import { formatReembedStatus, reembedStatus, type ReembedStatus } from './reembed-status.ts';
import { inSpan } from '../../telemetry.ts';

const actor = () => `cli:${userInfo().username}`;

export interface StartArgs {
  index: string;
  to: string;
  dims?: number | undefined;
  mode?: RunMode | undefined;
  coverage?: number | undefined;
  qualityFloor?: number | undefined;
  queries?: string | undefined;
  cutover?: boolean | undefined;
  wait?: boolean | undefined;
  localWorker?: boolean | undefined;
  progress?: boolean | undefined;
  /** Where the target model's one-line probe notice goes (pipeline/probe.ts). @default the logger, at info */
  notice?: ((line: string) => void) | undefined;
}

const ACTIONS = {
  cutover: (ctx: Context, m: Reembed, o: { force?: boolean | undefined }, by: string) => cutover(ctx.db, m.id, by, Boolean(o.force)),
  rollback: (ctx: Context, m: Reembed, _o: unknown, by: string) => rollback(ctx.db, m.id, by),
  abort: (ctx: Context, m: Reembed, _o: unknown, by: string) => abort(ctx.db, m.id, by),
  retire: (ctx: Context, m: Reembed, _o: unknown, by: string) => retire(ctx.db, m.id, by),
} as const;
export type ReembedAction = keyof typeof ACTIONS;

/**
 * `embedq reembed cutover|rollback|abort|retire`: the action on the index's open reembed, then
 * its status. `actor` is who is recorded in the reembed's events. @default `cli:<user>`
 */
export async function runReembedAction(ctx: Context, index: string, action: ReembedAction, o: { force?: boolean | undefined; actor?: string | undefined } = {}): Promise<ReembedStatus> {
  await ACTIONS[action](ctx, await openReembed(ctx, index), o, o.actor ?? actor());
  return reembedStatus(ctx, index);
}

/** `embedq reembed start`: target created, backfill queued, then (unless --no-wait) waits for the gate and cutover. */
export function runReembedStart(ctx: Context, a: StartArgs): Promise<ReembedStatus> {
  // One trace per reembed: its backfill jobs are children of this span.
  return inSpan(`reembed ${a.index}`, { attributes: { 'embedq.index': a.index, 'embedq.target_model': a.to } }, () => reembedStart(ctx, a));
}

async function reembedStart(ctx: Context, a: StartArgs): Promise<ReembedStatus> {
  const name = assertSafeName(a.index);
  await pingRedis(ctx.config.redisUrl);
  const index = await getIndex(ctx.db, name);
  if (!index) throw new UsageError(`index ${name} does not exist (see \`embedq status\`)`);
  const to = await resolveModelWithProbe(ctx.db, ctx.config, a.to, a.dims, { tenant: ctx.config.defaultTenant, notice: a.notice ?? ((line) => ctx.logger.info(line)) });
  const provider = to.spec.provider;
  requireApiKey(provider, ctx.config, to.key);
  requireDeployments(to, ctx.config);
  // A reembed re-embeds a whole index: `auto` is batch wherever the provider has one.
  const mode = await resolveMode(a.mode ?? 'sync', to.key, () => true, ctx.config.providers);
  const cov = a.coverage ?? 1;
  const floor = a.qualityFloor ?? 0.95;
  if (!(cov > 0 && cov <= 1)) throw new UsageError('--coverage must be a number in (0, 1]');
  if (!(floor > 0 && floor <= 2)) throw new UsageError('--quality-floor must be a positive number (e.g. 0.95)');
  const queries = a.queries ? await loadQueries(ctx.db, index.id, a.queries) : null;
  const m = await startReembed(ctx.db, { index: name, to, mode, coverage: cov, qualityFloor: floor, autoCutover: a.cutover !== false, queries, actor: actor() });
  const runId = reembedRunId(m);
  await ctx.runs.create(runId, { index: name, tenant: '*', ingestJobs: 1 });
  await enqueueBackfill(ctx, { migrationId: m.id, runId, tenant: '*' });
  if (a.wait !== false) await runAndWait(ctx, runId, { label: 'reembed', localWorker: a.localWorker, progress: a.progress });
  return reembedStatus(ctx, name);
}

async function openReembed(ctx: Context, index: string): Promise<Reembed> {
  const m = await currentReembed(ctx.db, assertSafeName(index));
  if (!m) throw new UsageError(`index ${index} has no reembed (start one with \`embedq reembed start --index ${index} --to <provider/model>\`)`);
  return m;
}

export function register(program: Command, env: CommandEnv): void {
  const re = program
    .command('reembed')
    .description('move an index to another model or size: new index, dual-write, backfill, quality gate, atomic cutover, rollback');
  re.command('start')
    .description('create the target index and start the reembed; waits (with a progress bar) until it is ready or cut over')
    .requiredOption('--index <name>', 'index to reembed')
    .requiredOption('--to <provider/model>', 'target model, e.g. openai/text-embedding-3-large')
    .option('--dims <n>', "target dimensions (default: the model's native size)", wholeNumber('--dims', { min: 1 }))
    .option('--mode <mode>', 'sync, batch or auto (batch when the provider has a batch API)', 'sync')
    .option('--coverage <ratio>', 'target rows / source rows needed for cutover', decimal('--coverage', { max: 1 }), 1)
    .option('--quality-floor <ratio>', 'cutover needs target recall@10 >= floor × source recall@10', decimal('--quality-floor', { max: 2 }), 0.95)
    .option('--queries <file>', 'JSONL of {"query": ..., "expected": [chunk or document ids]} for the quality gate (default: self-retrieval of sampled chunks)')
    .option('--no-cutover', 'stop at ready; cut over with `embedq reembed cutover`')
    .option('--no-wait', 'return at once; `embedq worker` does the work')
    .option('--no-local-worker', 'never start an in-process worker')
    .option('--json', 'print the final status as JSON')
    .action(
      env.handler(async (ctx, out, o: StartArgs & { mode: string }) => {
        const s = await runReembedStart(ctx, { ...o, mode: parseMode(o.mode), progress: !out.json, notice: (line) => process.stderr.write(`embedq: ${line}\n`) });
        out.result(s, formatReembedStatus);
        return s.migration && ['ready', 'cut_over', 'backfilling', 'planned'].includes(s.migration.state) ? 0 : 1;
      }),
    );
  re.command('status')
    .description('coverage, rate, ETA, tokens and cost so far, quality numbers and history of the reembed of the index')
    .requiredOption('--index <name>', 'the index')
    .option('--json', 'print the result as JSON')
    .action(env.handler(async (ctx, out, o: { index: string }) => (out.result(await reembedStatus(ctx, assertSafeName(o.index)), formatReembedStatus), 0)));
  const act = (name: ReembedAction, desc: string, extra?: (c: Command) => Command) => {
    let c = re.command(name).description(desc).requiredOption('--index <name>', 'the index').option('--json', 'print the resulting status as JSON');
    if (extra) c = extra(c);
    c.action(env.handler(async (ctx, out, o: { index: string; force?: boolean }) => (out.result(await runReembedAction(ctx, o.index, name, o), formatReembedStatus), 0)));
  };
  act('cutover', 'swap the index alias to the target in one transaction (needs ready, or --force past the quality gate)', (c) =>
    c.option('--force', 'cut over from validating even though the quality gate did not pass (recorded as forced)'),
  );
  act('rollback', 'point the alias back at the source index (kept until retire) and drop the target');
  act('abort', 'stop a reembed before cutover and drop its target index');
  act('retire', 'after cutover, drop the old index for good');
}
