import { PLUGIN_ERROR_CODES, PluginError } from "./errors.ts";

/** The part of a manifest that ordering reads. */
export interface OrderNode {
  id: string;
  dependsOn?: readonly string[];
}

/**
 * Orders plugins so each comes after everything it depends on. Ties keep
 * the order of the input list, so the result is deterministic.
 *
 * @throws {PluginError} `PLUGIN_DUPLICATE_ID`, `PLUGIN_DEPENDENCY_MISSING`
 * naming the plugin and the missing id, or `PLUGIN_DEPENDENCY_CYCLE` naming
 * the cycle.
 */
export function orderPlugins<T extends OrderNode>(nodes: readonly T[]): T[] {
  const byId = new Map<string, T>();
  for (const node of nodes) {
    if (byId.has(node.id)) {
      throw new PluginError(
        PLUGIN_ERROR_CODES.DUPLICATE_ID,
        node.id,
        `Cannot load two plugins with the id "${node.id}"`,
      );
    }
    byId.set(node.id, node);
  }
  for (const node of nodes) {
    for (const dependency of node.dependsOn ?? []) {
      if (!byId.has(dependency)) {
        throw new PluginError(
          PLUGIN_ERROR_CODES.DEPENDENCY_MISSING,
          node.id,
          `Cannot load plugin "${node.id}": it depends on "${dependency}", which is not loaded`,
        );
      }
    }
  }

  const ordered: T[] = [];
  const state = new Map<string, "visiting" | "done">();
  const trail: string[] = [];

  function visit(node: T) {
    const seen = state.get(node.id);
    if (seen === "done") return;
    if (seen === "visiting") {
      const cycle = [...trail.slice(trail.indexOf(node.id)), node.id];
      throw new PluginError(
        PLUGIN_ERROR_CODES.DEPENDENCY_CYCLE,
        node.id,
        `Cannot order plugins: their dependencies form a cycle (${cycle.join(" → ")})`,
      );
    }
    state.set(node.id, "visiting");
    trail.push(node.id);
    for (const dependency of node.dependsOn ?? []) visit(byId.get(dependency)!);
    trail.pop();
    state.set(node.id, "done");
    ordered.push(node);
  }

  for (const node of nodes) visit(node);
  return ordered;
}
