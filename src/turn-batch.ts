/**
 * Collects the calls made during one turn of the event loop and hands them over together at the
 * start of the next (setImmediate), or as soon as `max` have gathered. Under concurrent load the
 * requests in flight reach the same step in the same turn, so what each would send alone goes
 * out once for all of them; a lone call waits one turn.
 */
export class TurnBatch<T> {
  readonly #flush: (items: T[]) => void;
  readonly #max: number;
  #items: T[] = [];
  #scheduled = false;

  /** @param flush takes the items (in the order added) and owns them: it must answer each. */
  constructor(flush: (items: T[]) => void, max = Number.POSITIVE_INFINITY) {
    this.#flush = flush;
    this.#max = max;
  }

  add(item: T): void {
    this.#items.push(item);
    if (this.#items.length >= this.#max) this.#run();
    else if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.#run());
    }
  }

  #run(): void {
    this.#scheduled = false;
    const items = this.#items;
    this.#items = [];
    if (items.length > 0) this.#flush(items);
  }
}

/**
 * Runs a flushed batch as one unit of work; if that fails with an error that `retryAlone` accepts
 * (by default any), each item runs on its own so each gets its own answer, and otherwise every
 * item gets the error. A batch of one runs alone at once. `together` answers the items itself
 * when it succeeds.
 */
export function togetherOrAlone<T>(
  items: readonly T[],
  o: { together(items: readonly T[]): Promise<void>; alone(item: T): void; fail(item: T, e: unknown): void; retryAlone?(e: unknown): boolean },
): void {
  if (items.length === 0) return;
  if (items.length === 1) return o.alone(items[0]!);
  o.together(items).catch((e: unknown) => {
    if (o.retryAlone?.(e) ?? true) for (const item of items) o.alone(item);
    else for (const item of items) o.fail(item, e);
  });
}
