/**
 * What lets a test say "when" to the simulator instead of guessing a moment: a manual lifecycle
 * clock (batches, Cohere datasets and jobs advance only when it is ticked) and a request gate
 * (hold every embeddings request after the n-th until released).
 */
import type { SimState } from './route-types.ts';

export interface ManualClock {
  now(): number;
  tick(ms: number): void;
}

export interface RequestGate {
  /** Resolves when a request past the n-th is being held. */
  readonly held: Promise<void>;
  /** Answers the held requests and lets every later one through. */
  release(): void;
}

/** A clock that starts at the real time and moves only by `tick`. */
export function manualClock(): ManualClock {
  let t = Date.now();
  return { now: () => t, tick: (ms) => void (t += ms) };
}

/** Installs the gate on `state`: the first `n` embeddings requests pass, later ones wait for `release()`. */
export function holdAfter(state: SimState, n: number): RequestGate {
  let passed = 0;
  let onHeld!: () => void;
  const held = new Promise<void>((r) => (onHeld = r));
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  state.gate = () => {
    if (passed++ < n) return undefined;
    onHeld();
    return opened;
  };
  return {
    held,
    release() {
      state.gate = undefined;
      open();
    },
  };
}
