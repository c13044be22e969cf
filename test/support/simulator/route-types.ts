/**
 * The contract between the simulator's server and its route modules: what a route receives
 * (the parsed request and the shared state) and what it answers.
 */
import type { LocalEmbedding } from '../../../src/providers/local.ts';
import type { SimRequest, SimulatorKnobs } from './index.ts';
import type { RateWindow } from './rate-window.ts';
import type { FaultSchedule, ScheduledFault } from './faults.ts';

export type FaultKind = '500' | '503' | '429' | 'quota' | 'timeout' | 'malformed' | 'wrong-dims';

export interface SimLogEntry {
  method: string;
  path: string;
  status: number | 'timeout' | 'reset' | 'cut';
  model?: string;
  inputs?: number;
  /** Of `inputs`, how many came as token ids (OpenAI's token-array input). */
  tokenInputs?: number;
  tokens?: number;
  dimensions?: number;
  encoding?: string;
  fault?: FaultKind;
  /** A fault of the simulator's schedule (faults.ts). */
  scheduled?: ScheduledFault;
}

/** A response to send. `hold` keeps the socket open without answering (a timeout). */
export interface SimReply {
  status: number;
  body?: unknown;
  /** Sent as-is instead of `body` (malformed JSON, file content). */
  raw?: string | Buffer;
  headers?: Record<string, string>;
  hold?: boolean;
  /** Send the headers and this fraction of the body (full content-length), then close the socket. */
  cutAt?: number;
  /** Answered this much later than usual (a slow response). */
  delayMs?: number;
  log?: Partial<SimLogEntry>;
}

/** What route handlers share. */
export interface SimState {
  knobs: SimulatorKnobs;
  countTokens: (text: string) => number;
  window: RateWindow;
  embedders: Map<string, (text: string) => LocalEmbedding>;
  /** The next injected fault, if any (failNext first, then `faultRate`). */
  takeFault(): FaultKind | undefined;
  /** The lifecycle clock of batches and Cohere datasets and jobs: `Date.now`, or the test's manual clock. */
  now(): number;
  /** Set by `holdAfter`: resolves when the embeddings request may be answered. */
  gate?: () => Promise<void> | undefined;
  /** Scheduled faults, when the simulator was started with a `schedule`. */
  schedule?: FaultSchedule;
}

export interface Route {
  (req: SimRequest, state: SimState): SimReply | Promise<SimReply>;
  /** Runs before the body is read; `reset` drops the connection while the body still arrives. */
  beforeBody?: (state: SimState) => 'reset' | undefined;
}
