/**
 * What `<sm-app>` shares with pages through `@lit/context`: the store, the
 * API client, the socket and navigation.
 *
 * @module
 */
import { createContext } from "@lit/context";
import type { ApiClient } from "../api/client.ts";
import type { SocketController } from "../controllers/socket_controller.ts";
import type { Store } from "../state/store.ts";

/** The app's services. */
export interface AppServices {
  store: Store;
  api: ApiClient;
  socket: SocketController;
  /** Navigates to an internal path (History API). */
  navigate(path: string, options?: { replace?: boolean }): void;
}

/** The context key. */
export const servicesContext = createContext<AppServices>(Symbol("sm-services"));
