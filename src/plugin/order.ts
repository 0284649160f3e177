import { PLUGIN_ERROR_CODES, PluginError } from "./errors.ts";

/** The part of a manifest that ordering reads. */
export interface OrderNode {
  id: string;
  dependsOn?: readonly string[];
}

/**
 * Orders plugins so each comes after everything it depends on. Among the
 * plugins whose dependencies are all placed, the one listed first goes
 * next, so the result is deterministic and otherwise keeps the list order.
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
        `Cannot load two plugins with the id "${node.id}": remove one of them from the plugin list`,
        { plugin: node.id },
      );
    }
    byId.set(node.id, node);
  }
  for (const node of nodes) {
    for (const dependency of node.dependsOn ?? []) {
      if (!byId.has(dependency)) {
        throw new PluginError(
          PLUGIN_ERROR_CODES.DEPENDENCY_MISSING,
          `Cannot load: it depends on "${dependency}", which is not loaded; add "${dependency}" to the plugin list or remove it from dependsOn`,
          { plugin: node.id },
        );
      }
    }
  }

  const placed = new Set<string>();
  const ordered: T[] = [];
  while (ordered.length < nodes.length) {
    const next = nodes.find((node) =>
      !placed.has(node.id) && (node.dependsOn ?? []).every((id) => placed.has(id))
    );
    if (next === undefined) {
      const cycle = findCycle(nodes.filter((node) => !placed.has(node.id)), byId);
      throw new PluginError(
        PLUGIN_ERROR_CODES.DEPENDENCY_CYCLE,
        `Cannot order plugins: their dependencies form a cycle (${cycle.join(" → ")})`,
        { plugin: cycle[0]! },
      );
    }
    placed.add(next.id);
    ordered.push(next);
  }
  return ordered;
}

/** Follows unplaced dependencies from the first blocked node until one repeats. */
function findCycle<T extends OrderNode>(blocked: readonly T[], byId: Map<string, T>): string[] {
  const remaining = new Set(blocked.map((node) => node.id));
  const trail: string[] = [];
  let current = blocked[0]!;
  while (!trail.includes(current.id)) {
    trail.push(current.id);
    const dependency = (current.dependsOn ?? []).find((id) => remaining.has(id))!;
    current = byId.get(dependency)!;
  }
  return [...trail.slice(trail.indexOf(current.id)), current.id];
}
