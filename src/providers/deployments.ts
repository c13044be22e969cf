/**
 * A model served by several deployments (config `deployments`): which ones may substitute for
 * each other, and the provider that routes each request among them (router.ts) through one
 * request loop (request-loop.ts), failing over as the router says.
 *
 * The invariant: a vector from one deployment must be valid in an index built by another. So
 * every deployment of a model must resolve to the same model name, version, native size, output
 * size and dimension adapter as the model itself; the vectors then stay under the model's own
 * version key whichever deployment made them, and the ledger says which one did (`deployment`).
 */
import type { DeploymentsConfig, FailoverConfig } from '../config/deployments.ts';
import type { NamedProviders } from './models.ts';
import { ConfigError, UsageError } from '../errors.ts';
import { requireApiKey, type ProviderConfig } from './credentials.ts';
import { overridesFor, resolveModel } from './models.ts';
import { RequestLoop, type LoopTarget, type ProviderAdapter, type RequestLoopOptions } from './request-loop.ts';
import type { Redis } from 'ioredis';
import { DeploymentRouter, setDeploymentDisabled, type BreakerState } from './router.ts';
import type { EmbedOptions, EmbedResult, EmbeddingProvider, ResolvedModel } from './types.ts';

/** The parts of the config that decide a model's deployments. */
export interface DeploymentSettings {
  deployments?: DeploymentsConfig | undefined;
  failover?: FailoverConfig | undefined;
  models?: Readonly<Record<string, Readonly<Record<string, unknown>>>> | undefined;
  providers?: NamedProviders | undefined;
}

export interface Deployment {
  /** The provider name serving it. */
  name: string;
  priority: number;
  weight: number;
  /** The model as that provider serves it (its connection, its limits, its model name on the wire). */
  model: ResolvedModel;
}

/** The `deployments` key of a model: `provider/model`, without version or size. */
export const deploymentGroup = (model: ResolvedModel) => `${model.spec.provider}/${model.spec.model}`;

/** What must agree for two deployments to make the same vectors. */
const space = (m: ResolvedModel) => `${m.spec.model}@${m.spec.version} native ${m.spec.nativeDims}, ${m.dims} dims by ${m.dimAdapter}`;

/**
 * The deployments configured for `model`, each resolved under its own provider, or undefined
 * when the model has none.
 * @throws ConfigError naming `deployments.<model>.<i>.provider` for a deployment that is not the
 *   same vector space, or that its provider does not serve
 */
export function deploymentsOf(model: ResolvedModel, cfg: DeploymentSettings): Deployment[] | undefined {
  const group = deploymentGroup(model);
  const list = cfg.deployments && Object.hasOwn(cfg.deployments, group) ? cfg.deployments[group]! : undefined;
  if (!list) return undefined;
  return list.map((d, i) => {
    const path = `deployments.${group}.${i}.provider`;
    if (d.provider === model.spec.provider) return { ...d, name: d.provider, model };
    const id = `${d.provider}/${model.spec.model}`;
    let served: ResolvedModel;
    try {
      served = resolveModel(id, model.dims, overridesFor(cfg.models ?? {}, id), cfg.providers ?? {});
    } catch (e) {
      if (e instanceof UsageError || e instanceof ConfigError) throw new ConfigError([`${path}: ${d.provider} cannot serve ${model.spec.model} (${e.message})`]);
      throw e;
    }
    if (space(served) !== space(model))
      throw new ConfigError([
        `${path}: ${id} is ${space(served)}, but ${model.key} is ${space(model)}. Only deployments of one model version may substitute for each other, because a vector from one must be valid in an index built by another`,
      ]);
    return { ...d, name: d.provider, model: served };
  });
}

/** A built provider whose request protocol a routed loop can send through (every HTTP provider). */
function adapterOf(p: EmbeddingProvider): ProviderAdapter<unknown, unknown> {
  const adapter = (p as { adapter?: ProviderAdapter<unknown, unknown> }).adapter;
  if (!adapter) throw new Error(`${p.model.key} cannot be a deployment: it has no request adapter`);
  return adapter;
}

/** A model's provider over its deployments: each request goes where the router says. */
export class RoutedProvider implements EmbeddingProvider {
  readonly model: ResolvedModel;
  readonly router: DeploymentRouter;
  readonly #loop: RequestLoop<unknown, unknown>;

  /** @param built each deployment's own provider, in `deployments` order */
  constructor(model: ResolvedModel, deployments: readonly Deployment[], built: readonly EmbeddingProvider[], router: DeploymentRouter, failover: FailoverConfig, opts: RequestLoopOptions) {
    this.model = model;
    this.router = router;
    const targets: LoopTarget[] = deployments.map((d, i) => ({ name: d.name, adapter: adapterOf(built[i]!), spec: d.model.spec }));
    this.#loop = new RequestLoop(model, targets[0]!.adapter, opts, { targets, router, retryAfterMs: failover.retryAfterMs });
  }

  embed(inputs: string[], opts?: EmbedOptions): Promise<EmbedResult> {
    return this.#loop.embed(inputs, opts);
  }
}

/** One deployment as `embedq deployments list` and `GET /admin/deployments` show it. */
export interface DeploymentRow {
  /** The model id it serves (the `deployments` key). */
  model: string;
  deployment: string;
  priority: number;
  weight: number;
  state: BreakerState;
  disabled: boolean;
  /** Failed requests in a row. */
  fails: number;
  /** While open: when a probe may try it (ISO). */
  openUntil: string | null;
  /** The last failure's message. */
  reason: string | null;
}

/** What listing and switching deployments read: the config's parts and the Redis they live in. */
export interface DeploymentAdmin {
  redis: Redis;
  config: DeploymentSettings & { redisPrefix: string; failover: FailoverConfig; deployments: DeploymentsConfig };
  /** @default Date.now */
  now?: () => number;
}

/** The deployments of a configured model id at its native size, checked (deploymentsOf). */
function configured(cfg: DeploymentAdmin['config'], id: string): Deployment[] {
  const model = resolveModel(id, undefined, overridesFor(cfg.models ?? {}, id), cfg.providers ?? {});
  return deploymentsOf(model, cfg)!;
}

/** Every configured deployment with its breaker and switch, model by model. */
export async function listDeployments({ redis, config, now }: DeploymentAdmin): Promise<DeploymentRow[]> {
  const rows: DeploymentRow[] = [];
  for (const id of Object.keys(config.deployments)) {
    const router = new DeploymentRouter(redis, { prefix: config.redisPrefix, model: id, deployments: configured(config, id), failover: config.failover, ...(now ? { now } : {}) });
    for (const s of await router.states())
      rows.push({ model: id, deployment: s.name, priority: s.priority, weight: s.weight, state: s.state, disabled: s.disabled, fails: s.fails, openUntil: s.openUntil === null ? null : new Date(s.openUntil).toISOString(), reason: s.reason });
  }
  return rows;
}

/**
 * Disables or enables deployment `name` for model `model`, or for every model it serves when
 * `model` is undefined. Every process sees it on its next request.
 * @returns the model ids it serves that the switch covers
 * @throws UsageError for a name (or a model) the config does not list
 */
export async function switchDeployment({ redis, config }: DeploymentAdmin, name: string, model: string | undefined, disabled: boolean): Promise<string[]> {
  const groups = Object.entries(config.deployments);
  if (model !== undefined && !Object.hasOwn(config.deployments, model))
    throw new UsageError(`${model} has no deployments in the config (models with deployments: ${groups.map(([id]) => id).join(', ') || 'none'})`);
  const covered = groups.filter(([id, list]) => (model === undefined || id === model) && list.some((d) => d.provider === name)).map(([id]) => id);
  if (covered.length === 0) {
    const names = [...new Set(groups.filter(([id]) => model === undefined || id === model).flatMap(([, list]) => list.map((d) => d.provider)))];
    throw new UsageError(`${name} is not a deployment${model ? ` of ${model}` : ''} in the config (deployments: ${names.join(', ') || 'none'})`);
  }
  await setDeploymentDisabled(redis, config.redisPrefix, name, model, disabled);
  return covered;
}

/**
 * The checks a command makes before it plans or enqueues a run on `model`: its deployments (if
 * any) are one vector space, and each one's key is set. The workers would only find out later.
 * @throws ConfigError naming the path or the missing key
 */
export function requireDeployments(model: ResolvedModel, cfg: DeploymentSettings & ProviderConfig): void {
  for (const d of deploymentsOf(model, cfg) ?? []) requireApiKey(d.name, cfg, `${d.name}/${d.model.spec.model} (a deployment of ${model.key})`);
}
