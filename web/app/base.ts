/**
 * The base of pages and stateful components: the app's services through
 * `@lit/context` (a ContextConsumer, no decorators) and store selections
 * through {@link StoreController}.
 *
 * @module
 */
import { ContextConsumer } from "@lit/context";
import { LitElement } from "lit";
import { StoreController } from "../controllers/store_controller.ts";
import type { State } from "../state/reducers.ts";
import { type AppServices, servicesContext } from "./context.ts";

/** A LitElement with the app's services. */
export class SmElement extends LitElement {
  readonly #services = new ContextConsumer(this, { context: servicesContext });

  /** The app's services (available once connected). */
  get services(): AppServices {
    const value = this.#services.value;
    if (!value) throw new Error(`${this.localName} is not inside <sm-app>`);
    return value;
  }

  /** A selection of the store that re-renders this element when it changes. */
  protected select<T>(selector: (state: State) => T): StoreController<T> {
    return new StoreController(this, () => this.#services.value?.store, selector);
  }
}
