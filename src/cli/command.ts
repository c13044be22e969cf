/**
 * The shared command type. src/cli/main.ts builds one {@link CommandEnv} and hands it to every
 * command's `register`; command files import this file, never main.ts.
 */
import type { Command } from 'commander';
import type { Config } from '../config/schema.ts';
import type { Context } from '../context.ts';
import type { Output } from './output.ts';

export interface CommandEnv {
  /** Wraps a command body: config → context → body → exit code, with errors funnelled. */
  handler<A extends unknown[]>(fn: (ctx: Context, out: Output, ...args: A) => Promise<number>): (...args: A) => Promise<void>;
  /** Like handler, but without building a context (for commands that do not touch services). */
  plain<A extends unknown[]>(fn: (config: Config, out: Output, ...args: A) => Promise<number>): (...args: A) => Promise<void>;
}

/** What each file of src/cli/commands exports for main.ts. */
export interface CommandModule {
  register(program: Command, env: CommandEnv): void;
}
