import assert from "node:assert/strict";
import { stateLines } from "./commands.ts";

Deno.test("/state's lines show a list by its length in words, numbers to 3 decimals, epoch-ms times as RFC 3339, one level down", () => {
  assert.deepEqual(
    stateLines({
      psyche_purpose: { milestones: [], narrative: { version: 2, text: "I help." } },
      psyche_assurance: { recent_sentiments: [0.1, 0.2, 0.3, 0.4], open_concerns: 0 },
      psyche_dreaming: { pending: ["one"], alignment: 0.12345 },
      skipped: { a: 1 },
      mood: "calm",
      mind_thread: { updated_at: 1795884847228, turns: 3, last: { reply_at: 0, seen_at: 9e15 } },
    }, new Set(["skipped"])),
    [
      "  psyche_purpose: milestones=0 items, narrative.version=2, narrative.text=I help.",
      "  psyche_assurance: recent_sentiments=4 items, open_concerns=0",
      "  psyche_dreaming: pending=1 item, alignment=0.123",
      "  mood: calm",
      "  mind_thread: updated_at=2026-11-28T16:54:07.228Z, turns=3, last.reply_at=1970-01-01T00:00:00.000Z, last.seen_at=9000000000000000",
    ],
  );
});
