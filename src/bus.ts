import { type Clock, isoTime } from "./clock.ts";
import type { Logger } from "./telemetry/logger.ts";

/**
 * Payload types of known events, keyed by event type. Plugins add theirs
 * by declaration merging:
 *
 * ```ts ignore
 * declare module "@synth/kernel" {
 *   interface BusEventMap { "hello.greeted": { name: string } }
 * }
 * ```
 */
export interface BusEventMap {
  /** Every plugin has started; their ids in dependency order. */
  "plugin.started": { plugins: string[] };
  /** Shutdown began; the plugins are about to stop. */
  "plugin.stopping": { plugins: string[] };
  /** A turn finished (stage 12). */
  "mind.turn.completed": {
    turnId: string;
    threadId: string;
    flags: { uncertain: boolean; clarifying: boolean };
    /** Each stage's duration so far (the emit stage is still running). */
    stages?: Array<{ name: string; durationMs: number }>;
  };
  /** Every event of a turn as it happens (the WebSocket hub streams them to the owner). */
  "mind.turn.event": { userId: string; threadId: string; event: { type: string; turnId: string } };
  /** A background job changed status. */
  "mind.job": { id: string; module: string; kind: string; status: string; reason?: string };
  /**
   * A plugin asks the kernel to apply impulses and record events outside a
   * turn (an operator resolved a concern, a project finished); attributed
   * to the publishing plugin.
   */
  "mind.impulses": {
    impulses: Array<{ label: string; dp?: number; da?: number; dd?: number; reason: string }>;
    events?: Array<{ type: string; data: Record<string, unknown> }>;
    threadId?: string | null;
  };
  /** The affect state changed (`state.delta` to clients). */
  "mind.state": { cause: string; affect: unknown };
  /** Something users should be told (dashboard banner, WS `notice`). */
  /**
   * Credentials were revoked: all of a user's (password, role, deactivation,
   * deletion), one login (`sid`: logout, refresh reuse) or one API key
   * (`keyId`). Sockets opened with them close.
   */
  "auth.revoked": { userId: string; sid?: string; keyId?: string };
  "notice": { level: "info" | "warn" | "error"; code: string; message: string };
}

/** The payload type of event `T` (`unknown` for an undeclared type). */
export type BusEventData<T extends string> = T extends keyof BusEventMap ? BusEventMap[T] : unknown;

/** An event as subscribers receive it. */
export interface BusEvent<T extends string = string> {
  /** `<area>.<event>`, e.g. `project.update`. */
  type: T;
  /** The payload. */
  data: BusEventData<T>;
  /** RFC 3339 time of publication. */
  ts: string;
  /** Plugin id of the publisher, or `kernel`. */
  source: string;
}

/** Receives events; a thrown error or rejection is logged, never propagated. */
export type BusHandler<T extends string = string> = (event: BusEvent<T>) => void | Promise<void>;

/** In-process publish/subscribe between the kernel and plugins. */
export interface EventBus {
  /** Delivers an event to the subscribers of its type and of `*`. */
  publish<T extends string>(type: T, data: BusEventData<T>): void;
  /** Subscribes to one event type, or to all with `*`; returns the unsubscribe function. */
  subscribe<T extends string>(type: T, handler: BusHandler<T>): () => void;
}

/** Options for {@link createEventBus}. */
export interface CreateEventBusOptions {
  clock: Clock;
  log: Logger;
}

/**
 * Creates the bus. It returns publishers bound to a source via
 * {@link scopedBus}; delivery is synchronous and in subscription order.
 */
export function createEventBus(options: CreateEventBusOptions): EventBus & {
  /** A view of the bus whose published events carry `source`. */
  scoped(source: string): EventBus;
} {
  const subscribers = new Map<string, Set<BusHandler>>();

  function deliver(event: BusEvent) {
    for (const key of [event.type, "*"]) {
      for (const handler of subscribers.get(key) ?? []) {
        try {
          const result = handler(event);
          if (result instanceof Promise) {
            result.catch((error) => report(event, error));
          }
        } catch (error) {
          report(event, error);
        }
      }
    }
  }

  function report(event: BusEvent, error: unknown) {
    options.log.error("event subscriber failed", { event: event.type, error });
  }

  function subscribe<T extends string>(type: T, handler: BusHandler<T>) {
    const set = subscribers.get(type) ?? new Set();
    set.add(handler as BusHandler);
    subscribers.set(type, set);
    return () => {
      set.delete(handler as BusHandler);
    };
  }

  function scoped(source: string): EventBus {
    return {
      publish(type, data) {
        const at = options.clock.now();
        let ts: string | undefined;
        // Formatted only when a subscriber reads it: most events (a turn's tokens and stages) are
        // published dozens of times a turn and read by no one.
        deliver({
          type,
          data,
          get ts() {
            return ts ??= isoTime(at);
          },
          source,
        });
      },
      subscribe,
    };
  }

  return { ...scoped("kernel"), scoped };
}
