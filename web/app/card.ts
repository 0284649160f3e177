/**
 * The base of the Mind page's cards (spec/dashboard.md §3, §5.3): REST
 * loads through `@lit/task`, aborted when the card disconnects, rendered
 * with a pending state and an error state with a Retry button. While a
 * reload runs, the last value stays on screen.
 *
 * @module
 */
import { Task } from "@lit/task";
import { css, html } from "lit";
import { ApiError } from "../api/client.ts";
import { SmElement } from "./base.ts";

/** The message an error shows. */
export function errorText(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  return error instanceof Error ? error.message : String(error);
}

/** Styles every card shares. */
export const cardStyles = css`
  :host {
    display: block;
    min-width: 0;
  }
  section.card {
    height: 100%;
  }
  h2 {
    margin-top: 0;
  }
  h3 {
    font-size: 1rem;
    margin: 12px 0 4px;
  }
  .stat {
    font-variant-numeric: tabular-nums;
  }
`;

/** Waits `ms`, or rejects with the signal's reason once it aborts. */
function settle(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", stop);
      resolve();
    }, ms);
    const stop = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener("abort", stop, { once: true });
  });
}

/** How long a Mind card waits for one turn's updates to settle before it reloads. */
export const SETTLE_MS = 1_500;

/** A card that loads from the API. */
export class CardElement extends SmElement {
  #lifetime = new AbortController();
  /** Tasks whose next run is the Retry button's (it skips the settling wait). */
  #retrying = new WeakSet<Task<ReadonlyArray<unknown>, unknown>>();

  override connectedCallback(): void {
    if (this.#lifetime.signal.aborted) this.#lifetime = new AbortController();
    super.connectedCallback();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.#lifetime.abort();
  }

  /**
   * A task re-run whenever `args` changes (shallow, element by element);
   * its signal is aborted by a newer run or when the card disconnects.
   * With `settleMs`, a re-run waits that long first, and a change meanwhile
   * starts the wait again: the several `state.delta`s of one turn cost one
   * request, not one each (they share the user's API rate limit).
   */
  protected load<const A extends ReadonlyArray<unknown>, T>(
    args: () => A,
    run: (args: A, signal: AbortSignal) => Promise<T>,
    options: { settleMs?: number } = {},
  ): Task<A, T> {
    // Every reload waits, also after an error (a 429 must not bring one request per message
    // back); the first load, and the Retry button, go at once.
    let started = false;
    const task: Task<A, T> = new Task<A, T>(this, {
      task: async (values, { signal }) => {
        const both = AbortSignal.any([signal, this.#lifetime.signal]);
        const retried = this.#retrying.delete(task);
        if (started && !retried && options.settleMs) await settle(options.settleMs, both);
        started = true;
        return await run(values, both);
      },
      args,
    });
    return task;
  }

  /** Pending, error (with Retry) or the value; a reload keeps the last value shown. */
  protected renderTask<A extends ReadonlyArray<unknown>, T>(
    task: Task<A, T>,
    complete: (value: T) => unknown,
  ): unknown {
    const loading = html`<p class="muted" role="status">Loading…</p>`;
    return task.render({
      initial: () => loading,
      pending: () => (task.value === undefined ? loading : complete(task.value)),
      complete,
      error: (error) =>
        html`
          <p class="error" role="alert">${errorText(error)}</p>
          <button type="button" @click=${() => {
            this.#retrying.add(task);
            void task.run();
          }}>Retry</button>
        `,
    });
  }
}
