/**
 * Selects a slice of the store for a component and asks it to update when
 * that slice changes (shallow compare).
 *
 * @module
 */
import type { ReactiveController, ReactiveControllerHost } from "lit";
import type { State } from "../state/reducers.ts";
import type { Store } from "../state/store.ts";

/** A ReactiveController over one selection of the state. */
export class StoreController<T> implements ReactiveController {
  value: T;
  #unsubscribe: (() => void) | null = null;

  constructor(
    private readonly host: ReactiveControllerHost,
    private readonly store: () => Store | undefined,
    private readonly select: (state: State) => T,
  ) {
    const store_ = store();
    this.value = store_ ? select(store_.state) : (undefined as T);
    host.addController(this);
  }

  hostConnected(): void {
    const store = this.store();
    if (!store) return;
    this.value = this.select(store.state);
    this.#unsubscribe = store.subscribe((state) => {
      const next = this.select(state);
      if (!shallowEqual(next, this.value)) {
        this.value = next;
        this.host.requestUpdate();
      }
    });
  }

  hostDisconnected(): void {
    this.#unsubscribe?.();
    this.#unsubscribe = null;
  }
}

/** Equal, or objects whose own keys hold identical values. */
export function shallowEqual(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  const keysA = Object.keys(a);
  const keysB = Object.keys(b);
  return keysA.length === keysB.length &&
    keysA.every((key) =>
      Object.is((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key])
    );
}
