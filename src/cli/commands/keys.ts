/**
 * `embedq keys`: the gateway's virtual keys (create, list, show, update, revoke, rotate). The
 * operations are src/gateway/keys.ts's, shared with `/admin/keys`; a secret is printed once.
 */
import type { Command } from 'commander';
import { createApiKey, findApiKey, revokeApiKey, rotateApiKey, updateApiKey, type KeySettings } from '../../gateway/keys.ts';
import { listKeys, type ApiKey } from '../../store/keys.ts';
import { assertTenant } from '../../tenant.ts';
import { UsageError } from '../../errors.ts';
import type { CommandEnv } from '../command.ts';
import { parseWholeNumber } from '../numbers.ts';
import { parseDurationFlag } from '../parse.ts';
import { table } from '../output.ts';

interface SettingFlags {
  name?: string;
  models?: string;
  rpm?: string;
  tpm?: string;
  expires?: string;
}

/** The settings the flags give; `none` clears a limit or the model list on update. */
function settingsOf(o: SettingFlags): KeySettings {
  const clearable = <T>(v: string | undefined, parse: (x: string) => T): T | null | undefined => (v === undefined ? undefined : v === 'none' ? null : parse(v));
  return {
    ...(o.name !== undefined ? { name: o.name } : {}),
    ...(o.models !== undefined ? { models: clearable(o.models, (x) => x.split(',').map((m) => m.trim()).filter(Boolean)) ?? null } : {}),
    ...(o.rpm !== undefined ? { rpm: clearable(o.rpm, (x) => parseWholeNumber('--rpm', x)) ?? null } : {}),
    ...(o.tpm !== undefined ? { tpm: clearable(o.tpm, (x) => parseWholeNumber('--tpm', x)) ?? null } : {}),
    ...(o.expires !== undefined ? { expiresInMs: clearable(o.expires, (x) => parseDurationFlag('--expires', x)) ?? null } : {}),
  };
}

const when = (d: Date | null) => (d ? d.toISOString().replace(/\.\d{3}Z$/, 'Z') : '-');

export function keyState(k: ApiKey, now = Date.now()): string {
  if (k.revokedAt) return `revoked ${when(k.revokedAt)}`;
  if (k.expiresAt && k.expiresAt.getTime() <= now) return `expired ${when(k.expiresAt)}`;
  return k.previousValidUntil && k.previousValidUntil.getTime() > now ? `active (old secret until ${when(k.previousValidUntil)})` : 'active';
}

function describe(k: ApiKey): string {
  return [
    `key ${k.id}  ${k.prefix}…  tenant ${k.tenant}${k.name ? `  (${k.name})` : ''}`,
    `  state    ${keyState(k)}`,
    `  models   ${k.models ? k.models.join(', ') : 'any'}`,
    `  limits   ${k.rpm ?? '-'} requests/min, ${k.tpm ?? '-'} tokens/min`,
    `  expires  ${when(k.expiresAt)}`,
    `  created  ${when(k.createdAt)}`,
  ].join('\n');
}

const withSecret = (r: { key: ApiKey; secret: string }, verb: string) =>
  `${describe(r.key)}\n\n${verb} secret (shown once; embedq keeps only its hash):\n  ${r.secret}`;

const SETTINGS_HELP = `
Limits: --rpm and --tpm are enforced for the key across every serve process (Redis).
--models is a comma-separated allow-list of model ids or aliases (default: any model).
--expires takes a lifetime such as 30d or 12h. On update, "none" clears a setting.`;

export function register(program: Command, env: CommandEnv): void {
  const keys = program
    .command('keys')
    .description("virtual keys for the gateway's /v1/embeddings: one per client or team, each in a tenant")
    .addHelpText('after', `\nA key's secret (eq_…) is printed once, at create and rotate; Postgres keeps only its SHA-256.\nThe same operations are at /admin/keys under the admin token.`);
  const settings = (c: Command) =>
    c
      .option('--name <text>', 'a label, e.g. the client or team')
      .option('--models <ids>', 'models the key may use, comma-separated (ids or aliases)')
      .option('--rpm <n>', 'requests per minute')
      .option('--tpm <n>', 'tokens per minute')
      .option('--expires <duration>', 'lifetime from now, e.g. 30d')
      .addHelpText('after', SETTINGS_HELP);

  settings(keys.command('create').description('create a key for a tenant and print its secret once').requiredOption('--tenant <id>', 'the tenant whose cache, budget and data the key reaches'))
    .option('--json', 'print the result as JSON (the secret included, once)')
    .action(
      env.handler(async (ctx, out, o: SettingFlags & { tenant: string }) => {
        const r = await createApiKey(ctx.db, assertTenant(o.tenant), settingsOf(o));
        out.result(r, (x) => withSecret(x, 'Its'));
        return 0;
      }),
    );
  keys
    .command('list')
    .description('keys, newest first (prefixes only, never secrets)')
    .option('--tenant <id>', 'only this tenant')
    .option('--json', 'print the result as JSON')
    .action(
      env.handler(async (ctx, out, o: { tenant?: string }) => {
        const rows = await listKeys(ctx.db, o.tenant ? { tenant: assertTenant(o.tenant) } : {});
        out.result(rows, (r) =>
          r.length === 0
            ? 'no keys; create one with `embedq keys create --tenant <id>`'
            : table(['ID', 'PREFIX', 'TENANT', 'NAME', 'STATE', 'MODELS', 'RPM', 'TPM', 'EXPIRES'], r.map((k) => [k.id, `${k.prefix}…`, k.tenant, k.name ?? '-', keyState(k), k.models?.join(',') ?? 'any', k.rpm ?? '-', k.tpm ?? '-', when(k.expiresAt)])),
        );
        return 0;
      }),
    );
  keys
    .command('show <key>')
    .description('one key, by id or prefix')
    .option('--json', 'print the result as JSON')
    .action(env.handler(async (ctx, out, key: string) => (out.result(await findApiKey(ctx.db, key), describe), 0)));
  settings(keys.command('update <key>').description("change a key's name, models, limits or lifetime"))
    .option('--json', 'print the result as JSON')
    .action(
      env.handler(async (ctx, out, key: string, o: SettingFlags) => {
        const s = settingsOf(o);
        if (Object.keys(s).length === 0) throw new UsageError('nothing to change: give --name, --models, --rpm, --tpm or --expires');
        out.result(await updateApiKey(ctx.db, key, s), describe);
        return 0;
      }),
    );
  keys
    .command('revoke <key>')
    .description('stop a key at once, on every serve process (its next request is refused)')
    .option('--json', 'print the result as JSON')
    .action(env.handler(async (ctx, out, key: string) => (out.result(await revokeApiKey(ctx.db, key), (k) => `revoked key ${k.id} (${k.prefix}…)`), 0)));
  keys
    .command('rotate <key>')
    .description('give a key a new secret; with --grace the old one keeps working for that long')
    .option('--grace <duration>', 'how long the old secret still works, e.g. 24h (default: it stops now)')
    .option('--json', 'print the result as JSON (the new secret included, once)')
    .action(
      env.handler(async (ctx, out, key: string, o: { grace?: string }) => {
        const r = await rotateApiKey(ctx.db, key, o.grace ? parseDurationFlag('--grace', o.grace) : 0);
        out.result(r, (x) => withSecret(x, 'The new'));
        return 0;
      }),
    );
}
