/**
 * Which API key a provider's calls need, and the one error when it is missing. Used where the
 * provider is built (workers) and by the CLI before a run is planned or enqueued, so a missing
 * key stops the command at once instead of failing jobs after their retries. No SDK is loaded.
 */
import { ConfigError } from '../errors.ts';

/** A named provider as the config holds it (`providers.<name>`), its `apiKeyEnv` already read. */
export interface NamedProvider {
  kind: string;
  baseUrl?: string | undefined;
  apiKey?: string | undefined;
  apiKeyEnv?: string | undefined;
  headers?: Readonly<Record<string, string>> | undefined;
  /** `azure-openai` only. */
  apiVersion?: string | undefined;
}

/** The provider part of the config (a parsed `Config` fits). */
export interface ProviderConfig {
  openai?: { apiKey?: string | undefined; baseUrl?: string | undefined; organization?: string | undefined };
  cohere?: { apiKey?: string | undefined; baseUrl?: string | undefined };
  providers?: Readonly<Record<string, NamedProvider>> | undefined;
}

/** Where a provider's calls go and with which key, before the missing-key check. */
export interface Connection {
  apiKey?: string | undefined;
  baseUrl?: string | undefined;
  organization?: string | undefined;
  headers?: Readonly<Record<string, string>> | undefined;
  /** Azure OpenAI's `api-version`, when configured. */
  apiVersion?: string | undefined;
}

/** A provider's connection: `openai.*` / `cohere.*` for the built-in ones, `providers.<name>` for the others. */
export function connectionOf(provider: string, cfg: ProviderConfig): Connection {
  if (provider === 'openai' || provider === 'cohere') return cfg[provider] ?? {};
  const p = cfg.providers?.[provider];
  return p ? { apiKey: p.apiKey, baseUrl: p.baseUrl, headers: p.headers, apiVersion: p.apiVersion } : {};
}

/** Key sent to servers that need none (a local vLLM, TEI or Ollama); the SDK insists on one. */
export const NO_KEY = 'embedq-no-key';

const SETTINGS = {
  openai: { env: 'OPENAI_API_KEY', config: 'openai.apiKey', baseEnv: 'OPENAI_BASE_URL', server: 'OpenAI-compatible' },
  cohere: { env: 'COHERE_API_KEY', config: 'cohere.apiKey', baseEnv: 'COHERE_BASE_URL', server: 'Cohere-compatible' },
} as const;

/**
 * The key to send for `provider` (`openai`, `cohere` or a configured name), {@link NO_KEY} for a
 * loopback base URL without one, or undefined for providers that need none (`local`).
 *
 * @param label what needs the key, for the message, e.g. `openai/text-embedding-3-small`
 * @throws ConfigError naming the variable or setting to set, when the key is missing
 */
export function requireApiKey(provider: string, cfg: ProviderConfig, label: string): string | undefined {
  const named = provider === 'openai' || provider === 'cohere' ? undefined : cfg.providers?.[provider];
  if (provider !== 'openai' && provider !== 'cohere' && !named) return undefined;
  const { apiKey, baseUrl } = connectionOf(provider, cfg);
  const key = apiKey ?? (baseUrl && isLoopback(baseUrl) ? NO_KEY : undefined);
  if (key) return key;
  if (named) {
    const where = named.apiKeyEnv
      ? `${named.apiKeyEnv} is not set (providers.${provider}.apiKeyEnv names it). Set it in the environment`
      : `providers.${provider} has no key. Set providers.${provider}.apiKeyEnv to the environment variable holding it (or apiKey in the config file)`;
    throw new ConfigError([`${label}: ${where}, or point providers.${provider}.baseUrl at a server on this machine`]);
  }
  const s = SETTINGS[provider as 'openai' | 'cohere'];
  throw new ConfigError([`${label}: ${s.env} is not set. Set it in the environment (or ${s.config} in the config file), or point ${s.baseEnv} at a local ${s.server} server`]);
}

/** A server on this machine, where a dummy API key is fine. */
function isLoopback(url: string): boolean {
  try {
    const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
    return host === 'localhost' || host.endsWith('.localhost') || host === '::1' || host === '0.0.0.0' || /^127\.\d+\.\d+\.\d+$/.test(host);
  } catch {
    return false;
  }
}
