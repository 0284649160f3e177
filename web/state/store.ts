/**
 * The store: one state, changed only by {@link reduce}; subscribers hear
 * every change. Provided to components through `@lit/context`.
 *
 * @module
 */
import { createContext } from "@lit/context";
import { type Action, initialState, reduce, type State } from "./reducers.ts";

/** The store. */
export class Store {
  #state: State = initialState();
  readonly #listeners = new Set<(state: State) => void>();

  /** The current state. */
  get state(): State {
    return this.#state;
  }

  /** Applies an action and tells every subscriber. */
  dispatch(action: Action): void {
    const next = reduce(this.#state, action);
    if (next === this.#state) return;
    this.#state = next;
    for (const listener of this.#listeners) listener(next);
  }

  /** Hears every change; returns the unsubscribe function. */
  subscribe(listener: (state: State) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}

/** The context key under which `<sm-app>` provides the store. */
export const storeContext = createContext<Store>(Symbol("sm-store"));
