/**
 * Forecast parsing and scoring (spec/mind.md §6): the model's JSON array of
 * next messages, and how well a set predicted the message that came.
 *
 * @module
 */
import { firstJsonValue, type Impulse, type Intent, INTENTS, type Profile } from "@synth/kernel";
import { z } from "zod";

/** One forecast item. */
export interface ForecastItem {
  text: string;
  p: number;
  intent: Intent;
}

const itemSchema = z.object({
  text: z.string().min(1).max(500),
  probability: z.number().finite().min(0),
  intent: z.enum(INTENTS as [Intent, ...Intent[]]),
});

/** The first balanced JSON array in a text (strings respected), or null. */
export function firstJsonArray(text: string): string | null {
  return firstJsonValue(text, "[");
}

/**
 * Parses the model's answer: fences stripped, the first balanced array,
 * each item checked, distinct texts, the top `count` renormalised to sum 1.
 * No repair call, no placeholder.
 */
export function parseForecast(
  raw: string,
  count: number,
): { ok: true; items: ForecastItem[] } | { ok: false; error: string } {
  const unfenced = raw.replace(/```(?:json)?/g, "");
  const json = firstJsonArray(unfenced);
  if (json === null) return { ok: false, error: "no JSON array in the answer" };
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (error) {
    return { ok: false, error: `not valid JSON: ${(error as Error).message}` };
  }
  const parsed = z.array(itemSchema).safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return { ok: false, error: `${issue.path.join(".") || "array"}: ${issue.message}` };
  }
  const seen = new Set<string>();
  const distinct = parsed.data.filter((item) => {
    const key = item.text.trim().toLowerCase();
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  const top = distinct.sort((a, b) => b.probability - a.probability).slice(0, count);
  const total = top.reduce((sum, item) => sum + item.probability, 0);
  if (top.length === 0) return { ok: false, error: "the array is empty" };
  if (total <= 0) return { ok: false, error: "every probability is zero" };
  return {
    ok: true,
    items: top.map((item) => ({
      text: item.text,
      p: item.probability / total,
      intent: item.intent,
    })),
  };
}

/** How a set predicted the message: sims, alignment, surprise, intent hit. */
export function resolveForecast(
  items: ReadonlyArray<ForecastItem & { sim: number }>,
  intent: Intent,
): { alignment: number; surprise: number; best: number; intentHit: boolean } {
  const total = items.reduce((sum, item) => sum + item.p, 0);
  const alignment = total > 0 ? items.reduce((sum, item) => sum + item.p * item.sim, 0) / total : 0;
  let best = 0;
  for (let i = 1; i < items.length; i++) if (items[i]!.sim > items[best]!.sim) best = i;
  const maxSim = Math.max(0, ...items.map((item) => item.sim));
  return {
    alignment,
    surprise: 1 - maxSim,
    best,
    intentHit: items.some((item) => item.p >= 0.2 && item.intent === intent),
  };
}

/** The §5 impulses of a resolution, weighted by q. */
export function forecastImpulses(
  resolution: { alignment: number; surprise: number },
  q: number,
  profile: Profile,
): Impulse[] {
  const g = profile.affect.gains;
  const h = profile.dreaming.hitThreshold;
  const out: Impulse[] = [{
    label: "dreaming.surprise",
    da: g.surprise * q * (2 * resolution.surprise - 1),
    reason: `surprise=${resolution.surprise.toFixed(3)}, weight ${q}`,
  }];
  if (resolution.alignment >= h) {
    out.push({
      label: "dreaming.hit",
      dp: g.forecastHit * q * (resolution.alignment - h) / (1 - h),
      reason: `alignment=${resolution.alignment.toFixed(3)} ≥ ${h}, weight ${q}`,
    });
  }
  return out;
}
