/**
 * Reads the environment and the optional config file (JSON) into raw settings, then parses
 * them once. Precedence: environment over file over defaults. Nothing else reads process.env.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigError } from '../errors.ts';
import { ENV_KEYS, parseConfig, type Config } from './schema.ts';

export interface LoadOptions {
  /** Path of a JSON config file; default `$EMBEDQ_CONFIG`, else `./embedq.config.json` if present. */
  file?: string | undefined;
  env?: NodeJS.ProcessEnv;
  /** Settings that win over everything (used by tests). */
  overrides?: Record<string, unknown>;
}

export function loadConfig(opts: LoadOptions = {}): Config {
  const env = opts.env ?? process.env;
  const raw: Record<string, unknown> = {};
  const origins = new Map<string, string>();

  const explicit = opts.file ?? env.EMBEDQ_CONFIG;
  const file = resolve(explicit ?? 'embedq.config.json');
  let text: string | undefined;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if (explicit) throw new ConfigError([`config file ${file}: cannot be read (${(e as NodeJS.ErrnoException).code ?? String(e)})`]);
  }
  if (text !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (e) {
      throw new ConfigError([`config file ${file}: not valid JSON (${(e as Error).message})`]);
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
      throw new ConfigError([`config file ${file}: expected a JSON object of settings`]);
    mergeInto(raw, parsed as Record<string, unknown>, '', (k) => origins.set(k, `config file ${file}: ${k}`));
  }

  for (const [name, key] of Object.entries(ENV_KEYS)) {
    const v = env[name];
    if (v === undefined || v === '') continue;
    setPath(raw, key, v);
    origins.set(key, `environment ${name}`);
  }
  if (opts.overrides) mergeInto(raw, opts.overrides, '', () => undefined);
  return parseConfig(raw, (k) => origins.get(k) ?? k, env);
}

function mergeInto(target: Record<string, unknown>, src: Record<string, unknown>, prefix: string, mark: (k: string) => void): void {
  for (const [k, v] of Object.entries(src)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      const child = (target[k] ??= {}) as Record<string, unknown>;
      if (typeof child === 'object') {
        mergeInto(child, v as Record<string, unknown>, key, mark);
        continue;
      }
    }
    target[k] = v;
    mark(key);
  }
}

function setPath(target: Record<string, unknown>, dotted: string, value: unknown): void {
  const parts = dotted.split('.');
  let cur = target;
  for (const p of parts.slice(0, -1)) cur = (cur[p] ??= {}) as Record<string, unknown>;
  cur[parts.at(-1)!] = value;
}
