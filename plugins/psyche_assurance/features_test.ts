import assert from "node:assert/strict";
import { loadProfile } from "@synth/testing";
import {
  calibrationScores,
  claims,
  combine,
  concernImpulse,
  lexicalSignals,
  preassess,
  type ReliabilityBin,
  unsupported,
} from "./features.ts";

const { profile } = await loadProfile("empathetic");

Deno.test('"fix it" as a first message: amb 0.8, ls 0.4, uPre 0.712', () => {
  const found = preassess({
    text: "fix it",
    hadEarlierReply: false,
    referencesPast: false,
    support: 0,
    weightedSurprise: 0,
    profile,
  });
  assert.ok(Math.abs(found.amb - 0.8) < 1e-12);
  assert.ok(Math.abs(found.ls - 0.4) < 1e-12);
  assert.ok(Math.abs(found.uPre - 0.712) < 1e-12);
  const later = preassess({
    text: "fix it",
    hadEarlierReply: true,
    referencesPast: false,
    support: 0,
    weightedSurprise: 0,
    profile,
  });
  assert.ok(later.uPre < 0.6, "after a reply, 'it' has a referent");
});

Deno.test("hedges and absolutes count phrases as token sequences, outside code", () => {
  const text =
    "I think it might work, but I'm not sure. It is definitely 100% for sure.\n```\nmaybe maybe maybe\n```";
  const found = lexicalSignals(text, profile);
  assert.equal(found.hedges, 3, "i think, might, not sure (the fenced maybes do not count)");
  assert.equal(found.absolutes, 3, "definitely, 100%, for sure");
  assert.equal(found.tokens, 15);
  assert.equal(lexicalSignals("", profile).hedge, null);
});

Deno.test("claims are sentences of six tokens or more, at most twelve", () => {
  assert.deepEqual(claims("Yes. The server restarts every night at two. OK"), [
    "The server restarts every night at two.",
  ]);
  assert.equal(claims("This sentence has exactly six tokens here. ".repeat(20)).length, 12);
  assert.equal(unsupported([]), null);
  assert.equal(unsupported([0.3, 0.8]), 1 - (0 + 1) / 2);
});

Deno.test("uPost is the weighted mean of the present signals, null when none", () => {
  const u = combine({ hedge: 1, risk: 0, unsupported: null, verbal: 0.8, surprise: null }, profile);
  assert.ok(Math.abs(u! - (0.3 + 0.25 * 0.8) / (0.3 + 0.15 + 0.25)) < 1e-12);
  assert.equal(
    combine({ hedge: null, risk: null, unsupported: null, verbal: null, surprise: null }, profile),
    null,
  );
  const impulse = concernImpulse(0.75, profile);
  assert.ok(impulse.dp! < 0 && impulse.dd! < 0 && impulse.da! > 0);
});

Deno.test("ECE and Brier match a hand computation; below the minimum both are null", () => {
  // 20 samples: 10 at confidence 0.9 (8 correct), 10 at 0.3 (5 correct).
  const samples = [
    ...Array.from({ length: 10 }, (_, i) => ({ confidence: 0.9, outcome: i < 8 ? 1 : 0 })),
    ...Array.from({ length: 10 }, (_, i) => ({ confidence: 0.3, outcome: i < 5 ? 1 : 0 })),
  ];
  const scores = calibrationScores(samples, 20);
  // ECE = 0.5·|0.8 − 0.9| + 0.5·|0.5 − 0.3| = 0.05 + 0.1
  assert.ok(Math.abs(scores.ece! - 0.15) < 1e-9);
  // Brier = (8·0.01 + 2·0.81 + 5·0.49 + 5·0.09) / 20
  assert.ok(Math.abs(scores.brier! - (0.08 + 1.62 + 2.45 + 0.45) / 20) < 1e-9);
  const few = calibrationScores(samples.slice(1), 20);
  assert.deepEqual([few.ece, few.brier, few.bins], [null, null, null]);
});

Deno.test("the reliability bins give each bin's count, mean confidence and accuracy", () => {
  const samples = [
    ...Array.from({ length: 10 }, (_, i) => ({ confidence: 0.9, outcome: i < 8 ? 1 : 0 })),
    ...Array.from({ length: 10 }, (_, i) => ({ confidence: 0.3, outcome: i < 5 ? 1 : 0 })),
  ];
  const { bins } = calibrationScores(samples, 20);
  assert.equal(bins!.length, 10);
  const round = (bin: ReliabilityBin) => ({
    n: bin.n,
    confidence: Math.round(bin.confidence! * 1e9) / 1e9,
    accuracy: bin.accuracy,
  });
  assert.deepEqual(round(bins![9]!), { n: 10, confidence: 0.9, accuracy: 0.8 });
  assert.deepEqual(round(bins![3]!), { n: 10, confidence: 0.3, accuracy: 0.5 });
  assert.deepEqual(bins![0], { n: 0, confidence: null, accuracy: null });
});
