/**
 * A turn's event stream: every event is kept, so each consumer (the HTTP
 * response, an SSE replay, the terminal) reads it from the start at its
 * own pace.
 *
 * @module
 */

/** An append-only stream of events with any number of readers. */
export class EventChannel<Event> {
  readonly #events: Event[] = [];
  readonly #onEmit: ((event: Event) => void) | undefined;
  #closed = false;
  #waiters: Array<() => void> = [];

  /** `onEmit` also sees every event as it is added (the WebSocket hub's feed). */
  constructor(onEmit?: (event: Event) => void) {
    this.#onEmit = onEmit;
  }

  /** Adds an event. Ignored after {@link EventChannel.close}. */
  emit(event: Event): void {
    if (this.#closed) return;
    this.#events.push(event);
    this.#onEmit?.(event);
    this.#wake();
  }

  /** Ends the stream. */
  close(): void {
    this.#closed = true;
    this.#wake();
  }

  /** Every event so far. */
  get events(): readonly Event[] {
    return this.#events;
  }

  /** Whether the stream ended. */
  get closed(): boolean {
    return this.#closed;
  }

  #wake() {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }

  /** Reads from the first event until the stream closes. */
  async *[Symbol.asyncIterator](): AsyncIterator<Event> {
    let index = 0;
    for (;;) {
      while (index < this.#events.length) yield this.#events[index++]!;
      if (this.#closed) return;
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }
}
