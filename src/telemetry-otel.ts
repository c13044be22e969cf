/**
 * The OpenTelemetry side of src/telemetry.ts, loaded only when tracing is on: a NodeTracerProvider
 * with a batching OTLP exporter (http/protobuf or http/json, as configured; the endpoint's
 * headers, batching and resource come from the standard OTEL_* variables, which the SDK reads),
 * the W3C trace-context propagator, and a resource naming the service and the process
 * (`process.pid`, so a trace shows which process did what). Attribute names come from
 * @opentelemetry/semantic-conventions where it has them (the GenAI ones are in its incubating
 * entry point); embedq's own are `embedq.*`.
 */
import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Context as OtelContext, type Span as OtelSpan } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter as HttpJsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtobufExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { defaultResource, detectResources, envDetector, processDetector, resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, NodeTracerProvider, SimpleSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-node';
import { ATTR_ERROR_TYPE, ATTR_SERVER_ADDRESS, ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import {
  ATTR_GEN_AI_OPERATION_NAME,
  ATTR_GEN_AI_PROVIDER_NAME,
  ATTR_GEN_AI_REQUEST_ENCODING_FORMATS,
  ATTR_GEN_AI_REQUEST_MODEL,
  ATTR_GEN_AI_RESPONSE_MODEL,
  ATTR_GEN_AI_USAGE_INPUT_TOKENS,
  GEN_AI_OPERATION_NAME_VALUE_EMBEDDINGS,
} from '@opentelemetry/semantic-conventions/incubating';
import type { Config } from './config/schema.ts';
import { packageVersion } from './paths.ts';
import type { Attrs, ProviderCall, ProviderOutcome, Span, SpanKindName, SpanOptions, TelemetryImpl } from './telemetry.ts';

const KINDS: Record<SpanKindName, SpanKind> = { internal: SpanKind.INTERNAL, server: SpanKind.SERVER, client: SpanKind.CLIENT, producer: SpanKind.PRODUCER, consumer: SpanKind.CONSUMER };

function clean(attrs: Attrs | undefined): Record<string, string | number | boolean | string[]> {
  const out: Record<string, string | number | boolean | string[]> = {};
  for (const [k, v] of Object.entries(attrs ?? {})) if (v !== undefined) out[k] = Array.isArray(v) ? [...v] : (v as string | number | boolean);
  return out;
}

function wrap(span: OtelSpan): Span {
  return {
    set: (attrs) => void span.setAttributes(clean(attrs)),
    fail: (e, type) => {
      span.setAttribute(ATTR_ERROR_TYPE, type);
      span.setStatus({ code: SpanStatusCode.ERROR, message: e instanceof Error ? e.message : String(e) });
      if (e instanceof Error) span.recordException(e);
    },
  };
}

export async function createTelemetry(config: Pick<Config, 'otel'>, service: string, testExporter?: unknown): Promise<TelemetryImpl> {
  const detected = detectResources({ detectors: [processDetector, envDetector] });
  // OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES (envDetector) win over the role's default name.
  const resource = defaultResource().merge(resourceFromAttributes({ [ATTR_SERVICE_NAME]: service, 'service.version': packageVersion })).merge(detected);
  await detected.waitForAsyncAttributes?.();
  const exporter = (testExporter as SpanExporter | undefined) ?? otlpExporter(config);
  const provider = new NodeTracerProvider({
    resource,
    // The in-memory exporter of tests gets each span as it ends; the network one gets batches.
    spanProcessors: [testExporter ? new SimpleSpanProcessor(exporter) : new BatchSpanProcessor(exporter)],
  });
  provider.register({ propagator: new W3CTraceContextPropagator() });
  const tracer = provider.getTracer('embedq', packageVersion);

  const parentOf = (parent: string | null | undefined): OtelContext => {
    if (parent === undefined) return context.active();
    if (parent === null) return ROOT_CONTEXT;
    return propagation.extract(ROOT_CONTEXT, { traceparent: parent });
  };

  const run = <T>(name: string, o: SpanOptions, fn: (span: OtelSpan) => Promise<T>): Promise<T> =>
    tracer.startActiveSpan(name, { kind: KINDS[o.kind ?? 'internal'], attributes: clean(o.attributes) }, parentOf(o.parent), async (span) => {
      try {
        return await fn(span);
      } catch (e) {
        if (span.isRecording()) {
          span.setAttribute(ATTR_ERROR_TYPE, e instanceof Error ? e.name : 'Error');
          span.setStatus({ code: SpanStatusCode.ERROR, message: e instanceof Error ? e.message : String(e) });
          if (e instanceof Error) span.recordException(e);
        }
        throw e;
      } finally {
        span.end();
      }
    });

  return {
    inSpan: (name, o, fn) => run(name, o, (span) => fn(wrap(span))),
    providerSpan: (call: ProviderCall, fn) =>
      run(
        `${GEN_AI_OPERATION_NAME_VALUE_EMBEDDINGS} ${call.model}`,
        {
          kind: 'client',
          attributes: {
            [ATTR_GEN_AI_OPERATION_NAME]: GEN_AI_OPERATION_NAME_VALUE_EMBEDDINGS,
            [ATTR_GEN_AI_PROVIDER_NAME]: call.provider,
            [ATTR_GEN_AI_REQUEST_MODEL]: call.model,
            [ATTR_GEN_AI_REQUEST_ENCODING_FORMATS]: call.encodingFormats,
            [ATTR_SERVER_ADDRESS]: call.serverAddress,
            'embedq.model_version': call.modelVersion,
            'embedq.deployment': call.deployment,
            'embedq.attempt': call.attempt,
            'embedq.inputs': call.inputs,
            'embedq.mode': call.mode,
            'embedq.batch_id': call.batchId,
          },
        },
        (span) =>
          fn({
            ...wrap(span),
            answered: (o: ProviderOutcome) =>
              void span.setAttributes(clean({ [ATTR_GEN_AI_RESPONSE_MODEL]: o.responseModel, [ATTR_GEN_AI_USAGE_INPUT_TOKENS]: o.inputTokens, 'embedq.cost_usd': o.costUsd })),
          }),
      ),
    traceparent() {
      const carrier: Record<string, string> = {};
      propagation.inject(context.active(), carrier);
      return carrier.traceparent;
    },
    async shutdown() {
      await provider.shutdown();
      trace.disable();
      propagation.disable();
      context.disable();
    },
  };
}

/** The OTLP exporter for the configured protocol and URL (the SDK adds OTEL_EXPORTER_OTLP_HEADERS and timeouts). */
function otlpExporter(config: Pick<Config, 'otel'>): SpanExporter {
  const url = config.otel.tracesEndpoint ?? `${config.otel.endpoint!.replace(/\/+$/, '')}/v1/traces`;
  return config.otel.protocol === 'http/json' ? new HttpJsonExporter({ url }) : new ProtobufExporter({ url });
}
