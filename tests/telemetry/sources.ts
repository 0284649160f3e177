/**
 * Metric sources with nothing to report, for tests that build a registry
 * of their own (`createMetrics`) and look at a few series.
 *
 * @module
 */
import type { MetricsSources } from "../../src/telemetry/metrics.ts";

/** Every source empty or zero. */
export const NO_SOURCES: MetricsSources = {
  version: "test",
  wsClients: () => 0,
  queueDepth: () => 0,
  memoryItems: () => Promise.resolve([]),
  dbSizeBytes: () => Promise.resolve(0),
  health: () => Promise.resolve({ ready: true, checks: {} }),
  activeProjects: () => Promise.resolve(0),
  approvalsPending: () => 0,
  budgets: () => Promise.resolve([]),
  providers: () => [],
};
