/**
 * `embedq deployments list|disable|enable`: the deployments of the models that have several
 * (config `deployments`), their circuit breakers, and the operator's switch. The state lives in
 * Redis, so a disable holds for every worker and serve process from its next request.
 */
import type { Command } from 'commander';
import type { Context } from '../../context.ts';
import { listDeployments, switchDeployment, type DeploymentRow } from '../../providers/deployments.ts';
import type { CommandEnv } from '../command.ts';
import { table } from '../output.ts';

export interface SwitchResult {
  deployment: string;
  /** The model ids the switch covers. */
  models: string[];
  disabled: boolean;
}

const admin = (ctx: Context) => ({ redis: ctx.redis, config: ctx.config });

export function runDeploymentsList(ctx: Context): Promise<DeploymentRow[]> {
  return listDeployments(admin(ctx));
}

export async function runDeploymentSwitch(ctx: Context, name: string, o: { model?: string | undefined }, disabled: boolean): Promise<SwitchResult> {
  const models = await switchDeployment(admin(ctx), name, o.model, disabled);
  return { deployment: name, models, disabled };
}

function showList(rows: DeploymentRow[]): string {
  if (rows.length === 0) return 'no model has deployments (configure them under "deployments", docs/providers.md)';
  return table(
    ['MODEL', 'DEPLOYMENT', 'PRIORITY', 'WEIGHT', 'STATE', 'FAILS', 'LAST FAILURE'],
    rows.map((r) => [
      r.model,
      r.deployment,
      r.priority,
      r.weight,
      r.disabled ? 'disabled' : r.state === 'open' ? `open until ${r.openUntil}` : r.state,
      r.fails,
      r.reason ?? '-',
    ]),
  );
}

const showSwitch = (r: SwitchResult) => `${r.deployment} ${r.disabled ? 'disabled' : 'enabled'} for ${r.models.join(', ')}${r.disabled ? ': it takes no new requests from any process' : ''}`;

const HELP = `
A model may be served by several deployments of one model version, for example OpenAI and Azure
OpenAI for text-embedding-3-small, or two TEI replicas. Each request goes to the healthy
deployments of the best (lowest) priority, shared by weight; a 5xx, a timeout, a connection error
or a 429 asking to wait longer than failover.retryAfterMs sends it to the next one. A failing
deployment is cooled down for failover.cooldownMs, then one probe request tries it again.

STATE is closed (taking requests), open (cooling down), half-open (the next request probes it) or
disabled (by this command; takes nothing until enabled). Every process shares it through Redis.

Examples:
  embedq deployments list
  embedq deployments disable azure                     # every model azure serves
  embedq deployments disable azure --model openai/text-embedding-3-small
  embedq deployments enable azure`;

export function register(program: Command, env: CommandEnv): void {
  const cmd = program.command('deployments').description('the deployments of models served by several: health, failover, disable and enable').addHelpText('after', HELP);
  cmd
    .command('list')
    .description('each deployment with its priority, weight and state (closed, open, half-open, disabled)')
    .option('--json', 'print the result as JSON')
    .action(env.handler(async (ctx, out) => (out.result(await runDeploymentsList(ctx), showList), 0)));
  for (const [verb, disabled] of [
    ['disable', true],
    ['enable', false],
  ] as const)
    cmd
      .command(`${verb} <deployment>`)
      .description(disabled ? 'stop sending new requests to a deployment, in every process' : 'let a disabled deployment take requests again')
      .option('--model <id>', 'only for this model (provider/model); default: every model the deployment serves')
      .option('--json', 'print the result as JSON')
      .action(env.handler(async (ctx, out, name: string, o: { model?: string }) => (out.result(await runDeploymentSwitch(ctx, name, o, disabled), showSwitch), 0)));
}
