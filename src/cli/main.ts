/**
 * The commander program and the one error funnel: every command's handler runs through
 * {@link CommandEnv.handler}, which loads the config once, builds the context, prints errors as
 * one line and maps them to exit codes (0 ok, 1 failure, 2 usage error).
 */
import { Command, CommanderError } from 'commander';
import { loadConfig } from '../config/load.ts';
import type { Config } from '../config/schema.ts';
import { createContext, type Context } from '../context.ts';
import { startTelemetry, stopTelemetry } from '../telemetry.ts';
import { ConfigError, ServiceUnavailableError, UsageError, coerceError, exitCodeFor } from '../errors.ts';
import { packageVersion } from '../paths.ts';
import { MigrationError } from '../store/migrate.ts';
import { describeServiceError } from '../service-errors.ts';
import type { CommandEnv, CommandModule } from './command.ts';
import { createOutput, type Output } from './output.ts';
import { progressBreak } from './progress.ts';
import * as dbCommand from './commands/db.ts';
import * as statusCommand from './commands/status.ts';
import * as batchesCommand from './commands/batches.ts';
import * as budgetsCommand from './commands/budgets.ts';
import * as keysCommand from './commands/keys.ts';
import * as ingestCommand from './commands/ingest.ts';
import * as reembedCommand from './commands/reembed.ts';
import * as schedulesCommand from './commands/schedules.ts';
import * as searchCommand from './commands/search.ts';
import * as spendCommand from './commands/spend.ts';
import * as workerCommand from './commands/worker.ts';
import * as serveCommand from './commands/serve.ts';
import * as logCommand from './commands/log.ts';
import * as modelsCommand from './commands/models.ts';
import * as deploymentsCommand from './commands/deployments.ts';
import { redactUrls } from '../config/redact.ts';

/** Commands register themselves here; later issues add theirs. */
const COMMANDS: CommandModule[] = [batchesCommand, budgetsCommand, dbCommand, ingestCommand, reembedCommand, schedulesCommand, searchCommand, spendCommand, statusCommand, workerCommand, serveCommand, logCommand, modelsCommand, deploymentsCommand, keysCommand];

export function buildProgram(setExit: (code: number) => void): Command {
  const program = new Command('embedq')
    .description('Batch indexing and re-embedding job runner: corpus → chunks → deduplicated embeddings → pgvector.')
    .version(packageVersion, '-V, --version')
    .option('-c, --config <file>', 'JSON config file (default: $EMBEDQ_CONFIG or ./embedq.config.json if present)')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();

  const jsonOf = (args: unknown[]): boolean => {
    const cmd = args.at(-1) as Command | undefined;
    return Boolean(cmd && typeof cmd.opts === 'function' && (cmd.opts() as { json?: boolean }).json);
  };
  const configOf = (): Config => loadConfig({ file: program.opts<{ config?: string }>().config });

  const env: CommandEnv = {
    handler(fn) {
      return async (...args) => {
        const out = createOutput(jsonOf(args));
        let ctx: Context | undefined;
        try {
          const config = configOf();
          // Traces only when configured (src/telemetry.ts); the process's role names its service.
          await startTelemetry(config, `embedq-${commandPath(args)}`);
          ctx = createContext(config, { notice: (line) => process.stderr.write(`${progressBreak()}embedq: ${line}\n`) });
          setExit(await fn(ctx, out, ...args));
        } catch (e) {
          setExit(report(ctx ? describeServiceError(coerceError(e), ctx.config) : coerceError(e), out));
        } finally {
          await ctx?.close();
          await stopTelemetry((e) => process.stderr.write(`embedq: traces not sent (${redactUrls(coerceError(e).message)})\n`));
        }
      };
    },
    plain(fn) {
      return async (...args) => {
        const out = createOutput(jsonOf(args));
        try {
          setExit(await fn(configOf(), out, ...args));
        } catch (e) {
          setExit(report(coerceError(e), out));
        }
      };
    },
  };
  for (const c of COMMANDS) c.register(program, env);
  return program;
}

/** The top-level command a handler runs for (`worker`, `serve`, `ingest`, …), from commander's last argument. */
function commandPath(args: unknown[]): string {
  let cmd = args.at(-1) as Command | undefined;
  if (!cmd || typeof cmd.name !== 'function') return 'cli';
  while (cmd.parent?.parent) cmd = cmd.parent;
  return cmd.name();
}

/** Prints one line for an error (a stack trace only for unexpected errors with EMBEDQ_DEBUG=1). */
export function report(e: Error, out?: Output): number {
  const expected = e instanceof ConfigError || e instanceof UsageError || e instanceof ServiceUnavailableError || e instanceof MigrationError;
  // Whatever threw it (a driver, an SDK), a URL in an error never shows its password.
  const message = redactUrls(e.message);
  const msg = message.split('\n').length > 1 && !(e instanceof ConfigError) ? message.split('\n')[0]! : message;
  process.stderr.write(`embedq: ${msg}\n`);
  if (!expected && process.env.EMBEDQ_DEBUG) process.stderr.write(`${redactUrls(e.stack ?? '')}\n`);
  if (out?.json) process.stdout.write(`${JSON.stringify({ ok: false, error: message })}\n`);
  return exitCodeFor(e);
}

/** Runs the CLI with `argv` (process.argv shape) and returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  let code = 0;
  const program = buildProgram((c) => (code = c));
  try {
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return 0;
      if (e.code === 'commander.executeSubCommandAsync') return e.exitCode;
      return 2;
    }
    return report(coerceError(e));
  }
  return code;
}
