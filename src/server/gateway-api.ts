/**
 * The gateway's HTTP surface on `embedq serve`: `POST /v1/embeddings` (also `/embeddings`),
 * `GET /v1/models` and `GET /v1/models/{id}`, every answer in OpenAI's wire format (errors in its
 * envelope, never a stack trace). What a request does is src/gateway/gateway.ts's; this file reads
 * the HTTP request (content type, size, JSON) and writes the reply.
 */
import type { Context as HonoContext, Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { Gateway, GatewayReply } from '../gateway/gateway.ts';
import { WireError } from '../gateway/wire.ts';

/**
 * Largest request body by default: 2,048 inputs of 8,192 tokens (OpenAI's embedding models'
 * maximum) at about 4 bytes a token.
 */
export const DEFAULT_MAX_BODY_BYTES = 2048 * 8192 * 4;

const send = (c: HonoContext, r: GatewayReply) => c.body(r.body, r.status as ContentfulStatusCode, { 'content-type': 'application/json', ...r.headers });
const fail = (c: HonoContext, e: WireError) => c.body(JSON.stringify(e.body()), e.status as ContentfulStatusCode, { 'content-type': 'application/json', ...e.headers });

export function mountGateway(app: Hono, deps: { gateway: Gateway; maxBodyBytes?: number }): void {
  const { gateway } = deps;
  const maxSize = deps.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const limit = bodyLimit({
    maxSize,
    onError: (c) => fail(c, new WireError(413, `The request body is larger than ${maxSize} bytes, the most this gateway takes; send fewer or shorter inputs per request.`, { code: 'request_too_large' })),
  });
  const embeddings = async (c: HonoContext) => {
    const type = c.req.header('content-type') ?? '';
    if (!/^application\/json\b/i.test(type)) return fail(c, new WireError(415, `The body must be JSON, sent with Content-Type: application/json (got ${JSON.stringify(type || '(none)')}).`, { code: 'unsupported_media_type' }));
    let body: unknown;
    try {
      body = JSON.parse(await c.req.text());
    } catch {
      return fail(c, new WireError(400, 'We could not parse the JSON body of your request.', { param: 'body', code: 'invalid_json' }));
    }
    return send(c, await gateway.embeddings({ authorization: c.req.header('authorization'), body, signal: c.req.raw.signal, traceparent: c.req.header('traceparent') }));
  };
  app.post('/v1/embeddings', limit, embeddings);
  app.post('/embeddings', limit, embeddings);

  const withKey = (fn: (c: HonoContext, key: Awaited<ReturnType<Gateway['authorize']>>) => Promise<Response> | Response) => async (c: HonoContext) => {
    try {
      return await fn(c, await gateway.authorize(c.req.header('authorization')));
    } catch (e) {
      if (e instanceof WireError) return fail(c, e);
      throw e;
    }
  };
  app.get('/v1/models', withKey((c, key) => c.json(gateway.modelList(key))));
  // Model ids contain a slash (openai/text-embedding-3-small): the rest of the path is the id.
  app.get('/v1/models/*', withKey(async (c, key) => c.json(await gateway.model(key, decodeURIComponent(c.req.path.slice('/v1/models/'.length))))));
  app.all('/v1/*', (c) => fail(c, new WireError(404, `Unknown request URL: ${c.req.method} ${c.req.path}. The gateway serves POST /v1/embeddings, GET /v1/models and GET /v1/models/{id}.`, { code: 'unknown_url' })));
}
