/**
 * Fact extraction (spec/memory.md §4.3): after the reply, a background job
 * asks the model for facts stated in what the user typed — never the
 * reply, a recalled block or a system text — and stores them add-only.
 *
 * @module
 */
import type { BackgroundJob, TurnView } from "@synth/kernel";
import { z } from "zod";
import { formatRecallBlock } from "./format.ts";
import type { MemoryKind, MemorySource } from "@synth/kernel";
import type { SemanticMemory } from "./semantic.ts";

const FACTS = z.strictObject({
  facts: z.array(z.strictObject({
    text: z.string().min(8).max(300),
    importance: z.number().min(0).max(1),
    about: z.enum(["user", "world"]),
  })).max(5),
});

/** The extraction instruction. */
export const EXTRACT_SYSTEM = [
  "Extract lasting facts that the user states about themselves or the world in their message.",
  'Answer with only JSON: {"facts": [{"text": "...", "importance": 0..1, "about": "user" | "world"}]},',
  'at most 5 facts of 8 to 300 characters, written as plain statements ("The user\'s daughter is called Mia.").',
  'Questions, requests and opinions about this conversation are not facts: answer {"facts": []} if there are none.',
].join(" ");

/** Reads the model's answer. */
export function parseFacts(text: string): z.output<typeof FACTS> | { error: string } {
  const start = text.indexOf("{");
  const end = text.lastIndexOf("}");
  if (start < 0 || end <= start) return { error: "no JSON object in the answer" };
  try {
    const parsed = FACTS.safeParse(JSON.parse(text.slice(start, end + 1)));
    if (parsed.success) return parsed.data;
    const issue = parsed.error.issues[0]!;
    return { error: `${issue.path.map(String).join(".") || "object"}: ${issue.message}` };
  } catch (error) {
    return { error: `not valid JSON: ${(error as Error).message}` };
  }
}

/** The extraction job of a turn, or null when there is nothing to extract from. */
export function extractJob(semantic: SemanticMemory, view: TurnView): BackgroundJob | null {
  const block = formatRecallBlock((view.recall?.items ?? []).map((item) => ({
    kind: item.kind as MemoryKind,
    source: item.origin as MemorySource,
    trust: item.trust,
    createdAt: item.createdAt,
    text: item.text,
  })));
  // Sentences the user copied from recalled memories are not new facts.
  const text = semantic.stripRecalled(view.message.text, block).trim();
  if (text.length < 15 || !view.message.messageId) return null;
  const messageUid = view.message.messageId;
  return {
    module: "memory",
    kind: "extract",
    priority: 2,
    turnId: view.turnId,
    threadId: view.threadId,
    run: async (job) => {
      const request = {
        purpose: "extract",
        role: "background" as const,
        temperature: 0,
        maxTokens: 400,
        system: EXTRACT_SYSTEM,
        messages: [{ role: "user" as const, content: text }],
        context: { userId: view.userId, threadId: view.threadId, turnId: view.turnId },
      };
      const first = await job.llm.complete(request);
      let parsed = parseFacts(first.text);
      if ("error" in parsed) {
        const repair = await job.llm.complete({
          ...request,
          messages: [
            ...request.messages,
            { role: "assistant", content: first.text.slice(0, 2_000) },
            {
              role: "user",
              content:
                `That was not the JSON asked for (${parsed.error}). Answer again with only the JSON.`,
            },
          ],
        });
        parsed = parseFacts(repair.text);
      }
      if ("error" in parsed) return { note: `extraction failed: ${parsed.error}` };
      const report = await semantic.ingest(
        view.userId,
        { from: "user_message", messageUid, text },
        parsed.facts,
      );
      return {
        note:
          `${report.added.length} fact(s) added, ${report.reinforced.length} reinforced, ${report.dropped.length} dropped`,
      };
    },
  };
}
