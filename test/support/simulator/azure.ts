/**
 * The simulator's Azure OpenAI data plane, `POST /openai/deployments/{deployment}/embeddings?api-version=…`
 * on the same server, so the official SDK works unchanged with
 * `new AzureOpenAI({ apiKey, baseURL: sim.azureUrl, apiVersion, deployment })` (sim.azureUrl ends in
 * `/openai`, as the SDK's `${endpoint}/openai`). The body, the answer, the faults and the rate
 * window are the OpenAI route's (a deployment serves its model's vectors: same model and size, same
 * vector as on `/v1/embeddings`); what is Azure's own comes first: a missing `api-version` is a 404
 * "Resource not found", the key travels in `api-key` (a wrong or missing one is a 401), and a
 * deployment not in `azureDeployments` is a 404 DeploymentNotFound, each in Azure's
 * `{error:{code,message}}` body (docs/providers-azure.md says which of these shapes are documented).
 */
import type { Route, SimReply } from './route-types.ts';

export const AZURE_PREFIX = '/openai/';

export interface AzureKnobs {
  /**
   * Deployment name → the model it serves; a deployment not listed is a 404 DeploymentNotFound.
   * @default {} (every deployment serves the model of its own name)
   */
  azureDeployments: Record<string, string>;
}

export const DEFAULT_AZURE_KNOBS: AzureKnobs = { azureDeployments: {} };

/** Azure's error body: a string code (the status, or a name such as DeploymentNotFound) and a message. */
export function azureError(status: number, message: string, code: string = String(status)): SimReply {
  return { status, body: { error: { code, message } } };
}

const DENIED =
  'Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.';
const NO_DEPLOYMENT = 'The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again.';

/** The Azure routes, answering through the OpenAI embeddings route once Azure's own checks pass. */
export function createAzureApi(apiKey: string | undefined, embeddings: Route): { routes: Record<string, Route> } {
  const route: Route = async (req, state) => {
    const version = req.query.get('api-version');
    if (!version) return azureError(404, 'Resource not found');
    if (apiKey !== undefined && req.headers['api-key'] !== apiKey) return azureError(401, DENIED);
    const { deployment } = req.params;
    const mapped = state.knobs.azureDeployments;
    const model = Object.keys(mapped).length === 0 ? deployment : mapped[deployment!];
    if (model === undefined) return azureError(404, NO_DEPLOYMENT, 'DeploymentNotFound');
    // The deployment decides the model, whatever the body names (the SDK sends the model field too).
    const body = typeof req.body === 'object' && req.body !== null ? { ...req.body, model } : req.body;
    const reply = await embeddings({ ...req, body }, state);
    if (reply.status !== 429 || (reply.body as { error?: { code?: unknown } } | undefined)?.error?.code === 'insufficient_quota') return reply;
    const wait = reply.headers?.['retry-after'] ?? '1';
    const message = `Requests to the Embeddings_Create Operation under Azure OpenAI API version ${version} have exceeded call rate limit of your current OpenAI S0 pricing tier. Please retry after ${wait} seconds.`;
    return { ...reply, ...azureError(429, message) };
  };
  return { routes: { [`POST ${AZURE_PREFIX}deployments/:deployment/embeddings`]: route } };
}
