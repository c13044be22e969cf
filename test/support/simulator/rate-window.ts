/**
 * The simulator's rate limits: requests and tokens per minute over a sliding 60 s window (or a
 * shorter `windowMs`, so tests can check a whole minute's behaviour in seconds), with
 * OpenAI's 429 body and headers (`retry-after`, `retry-after-ms`, `x-ratelimit-*` whose reset
 * times are Go-style durations such as "6m0s", "51.189s", "20ms").
 */
import type { SimReply } from './index.ts';
import { apiError } from './embeddings.ts';

const WINDOW_MS = 60_000;

/** The limits a window reads (the simulator's knobs object). */
export interface RateWindowKnobs {
  rpm: number;
  tpm: number;
  /**
   * Window length. Not a named simulator knob: set it on the knobs object, e.g.
   * `startSimulator({ tpm, windowMs } as SimulatorOptions)` or `POST /_sim/set {"windowMs":2000}`.
   * @default 60_000
   */
  windowMs?: number;
}

export interface RateWindow {
  /** Counts the request if it fits, else returns the 429 to send. */
  admit(tokens: number, model: string, now?: number): SimReply | undefined;
  /** `x-ratelimit-*` for the current state (only for the configured limits). */
  headers(now?: number): Record<string, string>;
  clear(): void;
}

/** Formats milliseconds the way Go's `time.Duration.String()` does (to the millisecond). */
export function formatGoDuration(ms: number): string {
  const total = Math.max(0, Math.round(ms));
  if (total === 0) return '0s';
  if (total < 1000) return `${total}ms`;
  const h = Math.floor(total / 3_600_000);
  const m = Math.floor((total % 3_600_000) / 60_000);
  const s = `${Number(((total % 60_000) / 1000).toFixed(3))}s`;
  return h > 0 ? `${h}h${m}m${s}` : m > 0 ? `${m}m${s}` : s;
}

/** Reads limits from `knobs` at every call, so `sim.set({ rpm })` applies at once. */
export function createRateWindow(knobs: RateWindowKnobs): RateWindow {
  const windowMs = () => knobs.windowMs ?? WINDOW_MS;
  let events: { at: number; tokens: number }[] = [];
  let used = 0;
  const prune = (now: number) => {
    let i = 0;
    while (i < events.length && events[i]!.at <= now - windowMs()) used -= events[i++]!.tokens;
    if (i > 0) events = events.slice(i);
  };
  /** How long until the window has room for `tokens` more (and one more request). */
  const waitFor = (tokens: number, now: number): { kind: 'requests' | 'tokens'; ms: number } | undefined => {
    if (knobs.rpm > 0 && events.length + 1 > knobs.rpm) return { kind: 'requests', ms: events[events.length - knobs.rpm]!.at + windowMs() - now };
    if (knobs.tpm > 0 && used + tokens > knobs.tpm) {
      if (tokens > knobs.tpm) return { kind: 'tokens', ms: windowMs() };
      let freed = used;
      for (const e of events) {
        freed -= e.tokens;
        if (freed + tokens <= knobs.tpm) return { kind: 'tokens', ms: e.at + windowMs() - now };
      }
    }
    return undefined;
  };
  const window: RateWindow = {
    admit(tokens, model, now = Date.now()) {
      prune(now);
      const wait = waitFor(tokens, now);
      if (!wait) {
        events.push({ at: now, tokens });
        used += tokens;
        return undefined;
      }
      const limit = wait.kind === 'requests' ? knobs.rpm : knobs.tpm;
      const [label, usedNow, requested] = wait.kind === 'requests' ? ['requests per min (RPM)', events.length, 1] : ['tokens per min (TPM)', used, tokens];
      const ms = Math.max(1, Math.ceil(wait.ms));
      return {
        ...apiError(
          429,
          `Rate limit reached for ${model} in organization org-simulator on ${label}: Limit ${limit}, Used ${usedNow}, Requested ${requested}. Please try again in ${formatGoDuration(ms)}. Visit https://platform.openai.com/account/rate-limits to learn more.`,
          wait.kind,
          'rate_limit_exceeded',
        ),
        headers: { ...window.headers(now), 'retry-after': String(Math.ceil(ms / 1000)), 'retry-after-ms': String(ms) },
      };
    },
    headers(now = Date.now()) {
      prune(now);
      const out: Record<string, string> = {};
      // Reset = until the oldest counted request leaves the window and the budget grows again.
      const reset = formatGoDuration(events.length ? events[0]!.at + windowMs() - now : 0);
      if (knobs.rpm > 0) {
        out['x-ratelimit-limit-requests'] = String(knobs.rpm);
        out['x-ratelimit-remaining-requests'] = String(Math.max(0, knobs.rpm - events.length));
        out['x-ratelimit-reset-requests'] = reset;
      }
      if (knobs.tpm > 0) {
        out['x-ratelimit-limit-tokens'] = String(knobs.tpm);
        out['x-ratelimit-remaining-tokens'] = String(Math.max(0, knobs.tpm - used));
        out['x-ratelimit-reset-tokens'] = reset;
      }
      return out;
    },
    clear() {
      events = [];
      used = 0;
    },
  };
  return window;
}
