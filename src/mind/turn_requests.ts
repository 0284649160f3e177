/**
 * Turn requests shared by the HTTP routes and the WebSocket: submitting at
 * most once per `client_msg_id` (a client that retries a send after a
 * dropped connection gets the turn it already started) and cancelling
 * one's own running turn.
 *
 * @module
 */
import { BoundedMap } from "../bounded_map.ts";
import { AppError } from "../errors.ts";
import type { Role } from "../http/types.ts";
import type { Mind, StoredTurn, SubmitInput, TurnHandle } from "./mind.ts";

/** The turn a submit started or found. */
export type Submitted =
  /** `repeated`: this `client_msg_id` had started the turn before. */
  | { kind: "live"; handle: TurnHandle; repeated: boolean }
  | {
    kind: "stored";
    turnId: string;
    threadId: string;
    userMessageId: string | null;
    status: string;
  };

/** Submits a turn unless this `client_msg_id` already started one. */
export type OnceSubmitter = (
  input: SubmitInput,
  clientMsgId: string | undefined,
) => Promise<Submitted>;

/**
 * Remembers the last 10,000 `client_msg_id`s, one per user whatever the thread, and finds older
 * ones (also from before a restart) with their stored turns. A retry gets the first turn however
 * it ended, also one a restart cut (`failed`, `MIND_INTERRUPTED`): a new try needs a new id.
 */
export function createOnceSubmitter(mind: () => Mind): OnceSubmitter {
  const accepted = new BoundedMap<string, string>(10_000); // key → turn id
  // Submits under way, so that a second request with the key, arriving meanwhile, waits for it.
  const starting = new Map<string, Promise<Submitted>>();
  return async function submitOnce(
    input: SubmitInput,
    clientMsgId: string | undefined,
  ): Promise<Submitted> {
    if (!clientMsgId) return { kind: "live", handle: await mind().submit(input), repeated: false };
    const key = `${input.userId}:${clientMsgId}`;
    const underWay = starting.get(key);
    if (underWay) {
      const first = await underWay;
      return first.kind === "live" ? { ...first, repeated: true } : first;
    }
    const work = (async (): Promise<Submitted> => {
      const repeated = accepted.get(key);
      const live = repeated ? mind().live(repeated) : undefined;
      if (live) return { kind: "live", handle: live, repeated: true };
      // Not live: the stored turn, also one from before a restart (the id is kept with it).
      const stored = await mind().turnOfClientMessage(input.userId, clientMsgId);
      if (stored) {
        return {
          kind: "stored",
          turnId: stored.id,
          threadId: stored.threadId,
          userMessageId: stored.userMessageId,
          status: stored.status,
        };
      }
      const handle = await mind().submit({ ...input, clientMsgId });
      accepted.set(key, handle.turnId);
      return { kind: "live", handle, repeated: false };
    })();
    starting.set(key, work);
    try {
      return await work;
    } finally {
      starting.delete(key);
    }
  };
}

/** A turn of the caller's (any turn for an admin), else 404 `MIND_TURN_NOT_FOUND`. */
export async function ownTurn(
  mind: Mind,
  turnId: string,
  who: { userId: string; role: Role },
): Promise<StoredTurn> {
  const turn = await mind.turn(turnId);
  if (!turn || (turn.userId !== who.userId && who.role !== "admin")) {
    throw new AppError("MIND_TURN_NOT_FOUND", "No such turn", { status: 404, field: "turn_id" });
  }
  return turn;
}

/** Cancels the caller's running or queued turn; 409 `MIND_TURN_FINISHED` once it ended. */
export async function cancelOwnTurn(
  mind: Mind,
  turnId: string,
  who: { userId: string; role: Role },
): Promise<void> {
  const turn = await ownTurn(mind, turnId, who);
  const handle = mind.live(turn.id);
  if (!handle || handle.events.closed) {
    throw new AppError("MIND_TURN_FINISHED", "This turn has already ended", { status: 409 });
  }
  handle.cancel();
}
