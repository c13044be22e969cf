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
