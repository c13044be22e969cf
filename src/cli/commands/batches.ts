import type { Command } from 'commander';
import type { Context } from '../../context.ts';
import { UsageError } from '../../errors.ts';
import { getBatch, listBatches, pollOf, recordPoll, type BatchRow } from '../../store/batches.ts';
import type { CommandEnv } from '../command.ts';
import { wholeNumber } from '../numbers.ts';
import { table } from '../output.ts';

export async function runBatchesList(ctx: Context, o: { open?: boolean; limit?: number }): Promise<BatchRow[]> {
  return listBatches(ctx.db, o);
}

export async function runBatchShow(ctx: Context, id: string): Promise<BatchRow> {
  const b = await getBatch(ctx.db, id);
  if (!b) throw new UsageError(`no batch ${JSON.stringify(id)} (give embedq's batch id or the provider's, see \`embedq batches list\`)`);
  return b;
}

/** Asks the provider to cancel; finished work is kept and read back by the poller. */
export async function runBatchCancel(ctx: Context, id: string): Promise<BatchRow> {
  const b = await runBatchShow(ctx, id);
  if (!b.providerBatchId) throw new UsageError(`batch ${b.id} was not submitted yet (status ${b.status}); nothing to cancel at the provider`);
  if (b.ingestedAt) throw new UsageError(`batch ${b.id} is finished (status ${b.status}); nothing to cancel`);
  const clients = ctx.batchClients;
  const { batchClient } = await clients.get(b.modelVersionId);
  const pb = await batchClient.cancel(b.providerBatchId);
  await recordPoll(ctx.db, b.id, pollOf(pb));
  return { ...b, status: pb.status as BatchRow['status'] };
}

const age = (d: Date | null) => (d ? `${Math.round((Date.now() - new Date(d).getTime()) / 60000)}m ago` : '-');

export function formatList(rows: BatchRow[]): string {
  if (rows.length === 0) return 'no provider batches';
  return table(
    ['ID', 'PROVIDER BATCH', 'STATUS', 'INPUTS', 'WRITTEN', 'RE-QUEUED', 'TOKENS', 'CREATED', 'RUN'],
    rows.map((b) => [b.id, b.providerBatchId ?? '-', b.status, b.inputs, b.completed, b.failed, b.tokensBilled || b.tokensEstimated, age(b.createdAt), b.runId]),
  );
}

export function formatShow(b: BatchRow): string {
  const lines = [
    `batch ${b.id}  ${b.provider} ${b.providerBatchId ?? '(not submitted yet)'}`,
    `  status      ${b.status}${b.status === 'finalizing' && b.submittedAt ? ` (submitted ${age(b.submittedAt)})` : ''}`,
    `  run         ${b.runId}  tenant ${b.tenant}  index version ${b.indexVersionId}`,
    `  requests    ${b.requests} lines, ${b.inputs} inputs, ~${b.tokensEstimated} tokens estimated`,
    `  results     ${b.completed} written, ${b.failed} re-queued through the sync path, ${b.tokensBilled} tokens billed`,
    `  files       input ${b.inputFileId ?? '-'}  output ${b.outputFileId ?? '-'}  errors ${b.errorFileId ?? '-'}`,
    `  times       created ${age(b.createdAt)}, submitted ${age(b.submittedAt)}, finished ${age(b.finishedAt)}, read back ${age(b.ingestedAt)}`,
  ];
  if (b.errors) lines.push(`  errors      ${JSON.stringify(b.errors, null, 2).replace(/\n/g, '\n              ')}`);
  return lines.join('\n');
}

export function register(program: Command, env: CommandEnv): void {
  const batches = program.command('batches').description('provider batch jobs (OpenAI, Voyage, Mistral batches; Cohere embed jobs): list, show, cancel');
  batches
    .command('list')
    .description('recent provider batches, newest first')
    .option('--open', 'only batches not read back yet')
    .option('--limit <n>', 'how many', wholeNumber('--limit', { min: 1, max: 1000 }), 50)
    .option('--json', 'print the result as JSON')
    .action(env.handler(async (ctx, out, o: { open?: boolean; limit: number }) => (out.result(await runBatchesList(ctx, o), formatList), 0)));
  batches
    .command('show')
    .description("one batch in detail, with the provider's validation errors if it failed")
    .argument('<id>', "embedq's batch id or the provider's batch id")
    .option('--json', 'print the result as JSON')
    .action(env.handler(async (ctx, out, id: string) => (out.result(await runBatchShow(ctx, id), formatShow), 0)));
  batches
    .command('cancel')
    .description('cancel a batch at the provider; its finished results are still read back and the rest re-queued')
    .argument('<id>', "embedq's batch id or the provider's batch id")
    .option('--json', 'print the result as JSON')
    .action(env.handler(async (ctx, out, id: string) => (out.result(await runBatchCancel(ctx, id), (b) => `batch ${b.id}: ${b.status}`), 0)));
}
