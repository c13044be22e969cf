/**
 * Traces, when asked for: the one door to OpenTelemetry. This file imports nothing of it; with no
 * endpoint configured (`otel.endpoint`, `OTEL_EXPORTER_OTLP_ENDPOINT`) every function here is a
 * no-op that calls straight through, and no OpenTelemetry module is ever loaded. With one,
 * {@link startTelemetry} loads src/telemetry-otel.ts (the SDK, the OTLP exporter, the semantic
 * conventions) once per process.
 *
 * What is traced: one trace per ingest run, reembed and gateway request. The CLI (or the gateway)
 * opens the root span; every job enqueued under it carries the W3C `traceparent` of the span that
 * enqueued it in its data (never anything else), so each job's span, in whichever worker runs it,
 * is that span's child; a provider call is a span of its own named by the GenAI conventions
 * (`embeddings {model}`), and the vector write and the cache lookup are spans too.
 */
import type { Config } from './config/schema.ts';

export type AttrValue = string | number | boolean | readonly string[];
export type Attrs = Record<string, AttrValue | undefined>;

export interface Span {
  /** Adds attributes (undefined values are left out). */
  set(attrs: Attrs): void;
  /** Marks the span failed: status error, `error.type` = `type`, the exception recorded (its message is already redacted). */
  fail(e: unknown, type: string): void;
}

/** One provider attempt, in embedq's words; the implementation maps it onto the GenAI conventions. */
export interface ProviderCall {
  /** The provider kind (openai, cohere, …): `gen_ai.provider.name`. */
  provider: string;
  /** The model as sent: `gen_ai.request.model`. */
  model: string;
  modelVersion: string;
  deployment: string;
  attempt: number;
  inputs: number;
  mode: 'sync' | 'batch' | 'online';
  serverAddress?: string | undefined;
  encodingFormats?: readonly string[] | undefined;
  batchId?: string | undefined;
}

export interface ProviderOutcome {
  responseModel?: string | undefined;
  inputTokens?: number | undefined;
  costUsd?: number | undefined;
}

export type SpanKindName = 'internal' | 'server' | 'client' | 'producer' | 'consumer';

export interface SpanOptions {
  /** A W3C traceparent to continue (a job's), null for a new trace, undefined for the active span. */
  parent?: string | null | undefined;
  kind?: SpanKindName;
  attributes?: Attrs;
}

/** What src/telemetry-otel.ts provides. */
export interface TelemetryImpl {
  inSpan<T>(name: string, opts: SpanOptions, fn: (span: Span) => Promise<T>): Promise<T>;
  providerSpan<T>(call: ProviderCall, fn: (span: Span & { answered(o: ProviderOutcome): void }) => Promise<T>): Promise<T>;
  traceparent(): string | undefined;
  shutdown(): Promise<void>;
}

const NOOP_SPAN: Span & { answered(o: ProviderOutcome): void } = { set() {}, fail() {}, answered() {} };
let impl: TelemetryImpl | undefined;
let starting: Promise<void> | undefined;

/** Whether the config asks for traces. */
export function telemetryWanted(config: Pick<Config, 'otel'>): boolean {
  return !config.otel.disabled && (config.otel.endpoint !== undefined || config.otel.tracesEndpoint !== undefined);
}

/**
 * Starts tracing for this process when the config asks for it (once; later calls share it).
 * `service` names the process's role (`embedq-cli`, `embedq-worker`, `embedq-serve`) unless
 * `OTEL_SERVICE_NAME` says otherwise. Tests pass `exporter` (the SDK's in-memory one) to start it
 * without an endpoint.
 */
export function startTelemetry(config: Pick<Config, 'otel'>, service: string, opts: { exporter?: unknown } = {}): Promise<void> {
  if (impl || (!telemetryWanted(config) && opts.exporter === undefined)) return Promise.resolve();
  starting ??= import('./telemetry-otel.ts').then(async (m) => {
    impl = await m.createTelemetry(config, service, opts.exporter);
  });
  return starting;
}

/**
 * Sends what is buffered and stops; tracing is off afterwards (until started again). A collector
 * that cannot be reached costs the spans, never the command: the error is handed to `onError`.
 */
export async function stopTelemetry(onError: (e: unknown) => void = () => {}): Promise<void> {
  const running = impl;
  impl = undefined;
  starting = undefined;
  await running?.shutdown().catch(onError);
}

/** Runs `fn` in a span named `name` (a no-op without tracing). */
export function inSpan<T>(name: string, opts: SpanOptions, fn: (span: Span) => Promise<T>): Promise<T> {
  return impl ? impl.inSpan(name, opts, fn) : fn(NOOP_SPAN);
}

/** Runs one provider attempt in an `embeddings {model}` span (a no-op without tracing). */
export function providerSpan<T>(call: ProviderCall, fn: (span: Span & { answered(o: ProviderOutcome): void }) => Promise<T>): Promise<T> {
  return impl ? impl.providerSpan(call, fn) : fn(NOOP_SPAN);
}

/** The W3C traceparent of the active span, for a job's data; undefined without tracing or outside a span. */
export function currentTraceparent(): string | undefined {
  return impl?.traceparent();
}

/** The form of a W3C traceparent (version 00), as job data may carry it. */
export const TRACEPARENT = /^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;
