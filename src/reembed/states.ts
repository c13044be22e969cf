/**
 * The reembed state machine. A reembed moves an index to another model version:
 *
 *   planned → backfilling → validating → ready → cut_over → retired
 *
 * plus `aborted` (from any state before cut_over: the target is dropped) and `rolled_back`
 * (from cut_over: the alias points back at the source, which was kept). Every change goes
 * through {@link transition}, a compare-and-set in SQL, so an illegal or concurrent change is
 * refused rather than applied.
 */
export const STATES = ['planned', 'backfilling', 'validating', 'ready', 'cut_over', 'retired', 'aborted', 'rolled_back'] as const;
export type ReembedState = (typeof STATES)[number];

export const TRANSITIONS: Readonly<Record<ReembedState, readonly ReembedState[]>> = {
  planned: ['backfilling', 'aborted'],
  backfilling: ['validating', 'aborted'],
  // A gate that fails leaves the reembed in validating; new writes may send it back to backfill.
  validating: ['ready', 'backfilling', 'aborted'],
  ready: ['cut_over', 'validating', 'aborted'],
  cut_over: ['retired', 'rolled_back'],
  retired: [],
  aborted: [],
  rolled_back: [],
};

/** States in which a reembed is open: dual-write is on and no second reembed may start. */
export const OPEN_STATES: readonly ReembedState[] = ['planned', 'backfilling', 'validating', 'ready', 'cut_over'];

export function canTransition(from: ReembedState, to: ReembedState): boolean {
  return TRANSITIONS[from].includes(to);
}

export class InvalidTransitionError extends Error {
  override name = 'InvalidTransitionError';
  readonly from: string;
  readonly to: string;
  constructor(id: string, from: string, to: string, actual?: string) {
    super(
      actual && actual !== from
        ? `reembed ${id} is ${actual}, not ${from}: it changed meanwhile, nothing was done`
        : `reembed ${id} cannot go from ${from} to ${to} (allowed from ${from}: ${TRANSITIONS[from as ReembedState]?.join(', ') || 'nothing, it is finished'})`,
    );
    this.from = from;
    this.to = to;
  }
}
