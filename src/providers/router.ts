/**
 * Which deployment of a model takes the next request: weighted among the healthy deployments of
 * the best priority, with a circuit breaker per deployment and an operator's disable switch, both
 * in Redis so every worker and every serve process sees the same state.
 *
 * A breaker opens after `failures` failed requests in a row and keeps requests away for
 * `cooldownMs`; then it is half-open, and one request (whoever takes the probe key) tries the
 * deployment: success closes it, failure opens it again. A disabled deployment takes no request;
 * the state is read for every request, so a disable holds everywhere from the next one.
 *
 * Keys (under the config's `redisPrefix`): `<prefix>:deploy:{<model>}:<name>` (fails, openUntil,
 * reason), `…:<name>:probe`, and the hash `<prefix>:deploy:disabled` whose fields are
 * `<model>|<name>` or `*|<name>` (every model).
 */
import type { Redis } from 'ioredis';
import type { FailoverConfig } from '../config/deployments.ts';
import { ProviderError } from '../errors.ts';

export interface RoutedDeployment {
  /** The provider name serving the model. */
  name: string;
  priority: number;
  weight: number;
}

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface DeploymentState extends RoutedDeployment {
  disabled: boolean;
  state: BreakerState;
  /** Failed requests in a row. */
  fails: number;
  /** While open: when a probe may try it again (ms since the epoch). */
  openUntil: number | null;
  /** The last failure's message. */
  reason: string | null;
}

export interface RouterOptions {
  /** The config's `redisPrefix`. */
  prefix: string;
  /** The model id the deployments serve, `provider/model`. */
  model: string;
  deployments: readonly RoutedDeployment[];
  failover: FailoverConfig;
  /** @default Date.now */
  now?: () => number;
  /** @default Math.random */
  random?: () => number;
}

/** The disabled-deployments hash, and its field for one deployment (`model` undefined: every model). */
export const disabledKey = (prefix: string) => `${prefix}:deploy:disabled`;
export const disabledField = (name: string, model?: string) => `${model ?? '*'}|${name}`;

// Counts one failure; opens the breaker at the threshold (again, when a probe failed). Atomic, so
// two workers failing together count two.
const FAIL = `
local fails = redis.call('HINCRBY', KEYS[1], 'fails', 1)
redis.call('HSET', KEYS[1], 'reason', ARGV[4])
if fails >= tonumber(ARGV[1]) then redis.call('HSET', KEYS[1], 'openUntil', ARGV[2]) end
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('DEL', KEYS[2])
return fails`;

export class DeploymentRouter {
  readonly #redis: Redis;
  readonly #o: RouterOptions;
  readonly #now: () => number;
  readonly #random: () => number;
  /** Failures seen at the last read, so a success costs a Redis write only after a failure. */
  readonly #fails = new Map<string, number>();

  constructor(redis: Redis, opts: RouterOptions) {
    this.#redis = redis;
    this.#o = opts;
    this.#now = opts.now ?? Date.now;
    this.#random = opts.random ?? Math.random;
  }

  get model(): string {
    return this.#o.model;
  }

  #key(name: string): string {
    return `${this.#o.prefix}:deploy:{${this.#o.model}}:${name}`;
  }

  /** Every deployment's state, in one round trip. */
  async states(): Promise<DeploymentState[]> {
    const { deployments, prefix, model } = this.#o;
    const pipe = this.#redis.pipeline();
    for (const d of deployments) pipe.hmget(this.#key(d.name), 'fails', 'openUntil', 'reason');
    pipe.hmget(disabledKey(prefix), ...deployments.flatMap((d) => [disabledField(d.name, model), disabledField(d.name)]));
    const replies = (await pipe.exec()) ?? [];
    for (const [err] of replies) if (err) throw err;
    const flags = replies.at(-1)![1] as (string | null)[];
    const now = this.#now();
    return deployments.map((d, i) => {
      const [fails, openUntil, reason] = replies[i]![1] as (string | null)[];
      const n = Number(fails ?? 0);
      const until = openUntil === null ? null : Number(openUntil);
      this.#fails.set(d.name, n);
      const state: BreakerState = until === null || n < this.#o.failover.failures ? 'closed' : now < until ? 'open' : 'half-open';
      return { ...d, disabled: flags[2 * i] !== null || flags[2 * i + 1] !== null, state, fails: n, openUntil: until, reason: reason ?? null };
    });
  }

  /**
   * The deployment for the next attempt, outside `exclude` (those that failed this request):
   * by priority, a half-open one whose probe this caller takes first (that is how a recovered
   * deployment comes back), else a closed one by weight. With `lastResort`, when every one is
   * cooling down, the one whose cooldown ends first: a request must go somewhere.
   * @returns undefined when no deployment outside `exclude` may take it now
   * @throws ProviderError (retryable) when every deployment is disabled
   */
  async pick(exclude: ReadonlySet<string>, lastResort = false): Promise<string | undefined> {
    const all = await this.states();
    const enabled = all.filter((d) => !d.disabled);
    if (enabled.length === 0)
      throw new ProviderError(`every deployment of ${this.#o.model} is disabled (${all.map((d) => d.name).join(', ')}); enable one with \`embedq deployments enable <name>\``, { retryable: true });
    const open = enabled.filter((d) => !exclude.has(d.name));
    for (const priority of [...new Set(open.map((d) => d.priority))].sort((a, b) => a - b)) {
      const level = open.filter((d) => d.priority === priority);
      for (const d of level.filter((x) => x.state === 'half-open')) if (await this.#takeProbe(d.name)) return d.name;
      const closed = level.filter((d) => d.state === 'closed');
      if (closed.length) return this.#weighted(closed);
    }
    if (!lastResort) return undefined;
    const pool = open.length ? open : enabled;
    return pool.reduce((a, b) => ((b.openUntil ?? 0) < (a.openUntil ?? 0) ? b : a)).name;
  }

  /** A failed request on `name` (5xx, timeout, connection error, long 429). */
  async failed(name: string, reason: string): Promise<void> {
    const { failures, cooldownMs } = this.#o.failover;
    const key = this.#key(name);
    this.#fails.set(name, (this.#fails.get(name) ?? 0) + 1);
    await this.#redis.eval(FAIL, 2, key, `${key}:probe`, failures, this.#now() + cooldownMs, Math.max(cooldownMs * 10, 3_600_000), reason.slice(0, 300));
  }

  /** A request `name` answered: its breaker closes. */
  async succeeded(name: string): Promise<void> {
    if (!this.#fails.get(name)) return;
    this.#fails.set(name, 0);
    const key = this.#key(name);
    await this.#redis.del(key, `${key}:probe`);
  }

  async #takeProbe(name: string): Promise<boolean> {
    // Held for the cooldown: a probe whose worker died frees the deployment after one more cooldown.
    return (await this.#redis.set(`${this.#key(name)}:probe`, '1', 'PX', this.#o.failover.cooldownMs, 'NX')) === 'OK';
  }

  #weighted(list: readonly DeploymentState[]): string {
    let r = this.#random() * list.reduce((s, d) => s + d.weight, 0);
    for (const d of list) if ((r -= d.weight) < 0) return d.name;
    return list.at(-1)!.name;
  }
}

/**
 * Disables (or enables) a deployment for one model, or for every model with `model` undefined.
 * Read by every router on its next request.
 */
export async function setDeploymentDisabled(redis: Redis, prefix: string, name: string, model: string | undefined, disabled: boolean): Promise<void> {
  const field = disabledField(name, model);
  if (disabled) await redis.hset(disabledKey(prefix), field, new Date().toISOString());
  else await redis.hdel(disabledKey(prefix), field);
}
