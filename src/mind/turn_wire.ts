/**
 * A turn's messages as clients read them (spec/server.md §5.3): `chat.token` with its index and
 * text, one `chat.done` however the turn ends (completed, failed or cancelled, with the text
 * shown so far), and `turn.influence` as the record itself. The WebSocket and the SSE turn stream
 * (§4.4) both speak these shapes.
 *
 * @module
 */
import { toApiShape, toSnakeCase } from "./influence.ts";
import type { TurnEvent } from "./mind.ts";

/** One §5.3 message: its type and its data (built when asked: a record costs to rewrite). */
export interface WireMessage {
  type: "chat.token" | "chat.done" | "turn.influence";
  data: () => unknown;
}

/** Follows one turn's events and says which §5.3 messages each makes. */
export class TurnWire {
  readonly #threadId: string;
  #index = 0;
  #text = "";

  /** For a turn in `threadId`. */
  constructor(threadId: string) {
    this.#threadId = threadId;
  }

  /** The messages `event` makes (none for the turn's own progress: queued, started, stages). */
  messages(event: TurnEvent): WireMessage[] {
    const base = { thread_id: this.#threadId, turn_id: event.turnId };
    switch (event.type) {
      case "chat.token": {
        const index = this.#index++;
        this.#text += event.delta;
        const data = { ...base, index, text: event.delta };
        return [{ type: "chat.token", data: () => data }];
      }
      case "chat.done": {
        const data = {
          ...base,
          message_id: event.messageId,
          status: "completed",
          text: event.text,
          flags: event.flags,
          usage: toSnakeCase(event.usage),
        };
        return [{ type: "chat.done", data: () => data }];
      }
      case "turn.failed":
      case "turn.cancelled": {
        // The part of the reply that was stored (its message), and what the calls used.
        const data = {
          ...base,
          message_id: event.messageId ?? null,
          status: event.type === "turn.failed" ? "failed" : "cancelled",
          text: this.#text,
          usage: event.usage ? toSnakeCase(event.usage) : null,
          ...(event.type === "turn.failed"
            ? { error: { code: event.code, message: event.message } }
            : {}),
        };
        return [{ type: "chat.done", data: () => data }];
      }
      case "turn.influence": {
        const record = event.record;
        return [{ type: "turn.influence", data: () => toApiShape(record) }];
      }
      default:
        return [];
    }
  }
}
