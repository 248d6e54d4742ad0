/**
 * The demo bank's clock: it starts at a chosen instant of history and runs `speed` times faster
 * than real time (3,600: an hour a second). Every part of the service that asks the time in the
 * demo asks this clock (the API, the price service, end of day, the risk engine, liquidations),
 * so the whole bank lives on it; sessions keep real time, and the database's own now() is used
 * only for bookkeeping columns. It starts held (the bank is built at 07:00 sharp) until released.
 */
export class DemoClock {
  #anchor: number;
  #realAnchor: number;
  #held = true;
  readonly #realNow: () => number;

  constructor(start: Date, readonly speed: number, realNow: () => number = Date.now) {
    this.#anchor = start.getTime();
    this.#realNow = realNow;
    this.#realAnchor = realNow();
  }

  now = (): Date => new Date(this.#held ? this.#anchor : this.#anchor + (this.#realNow() - this.#realAnchor) * this.speed);

  /** From now on the clock runs. */
  release(): void {
    if (!this.#held) return;
    this.#held = false;
    this.#realAnchor = this.#realNow();
  }
}
