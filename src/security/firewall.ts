/**
 * The IP firewall (spec/server.md §8): mode `off`, `allowlist` or
 * `denylist`; IPv4/IPv6 CIDR rules from the config (`source: "config"`,
 * not deletable) and from the API (persisted, may expire); `alwaysAllow`
 * ranges that always pass; a ring of the last 1,000 refusals. The earlier
 * project's auto-block is gone: lockout and rate limits cover it.
 *
 * @module
 */
import type { Clock } from "../clock.ts";
import type { KernelConfig } from "../config/schema.ts";
import { AppError } from "../errors.ts";
import type { IdFactory } from "../ids.ts";
import type { Store } from "../store/store.ts";
import type { Logger } from "../telemetry/logger.ts";
import { type Cidr, CidrError, inCidr, parseCidr } from "./ip.ts";

/** `firewall.*` settings. */
export type FirewallConfig = KernelConfig["firewall"];
/** The firewall's modes. */
export type FirewallMode = "off" | "allowlist" | "denylist";

/** A rule as the API shows it. */
export interface FirewallRule {
  id: string;
  list: "allow" | "deny";
  cidr: string;
  note: string;
  source: "api" | "config";
  created_at: string | null;
  expires_at: string | null;
}

/** A refused request. */
export interface BlockedEntry {
  timestamp: string;
  ip: string;
  reason: string;
  path: string;
}

interface LoadedRule extends FirewallRule {
  range: Cidr;
  expiresAt: number | null;
}

/** The firewall. */
export interface Firewall {
  readonly mode: FirewallMode;
  /** Loads the persisted mode and rules (at start). */
  load(): Promise<void>;
  /** Why `ip` is refused, or null when it passes. Refusals are recorded. */
  check(ip: string, path: string): string | null;
  /** Whether `ip` would pass under `mode` with the current rules. */
  wouldPass(ip: string, mode: FirewallMode): boolean;
  /**
   * Whether `ip` would still pass under the current mode after adding a rule or removing one (by
   * id, or by list and range as the legacy routes do). An unreadable range counts as passing: the
   * change itself is refused for it.
   */
  wouldPassAfter(
    ip: string,
    change:
      | { add: { list: "allow" | "deny"; cidr: string } }
      | { removeId: string }
      | { remove: { list: "allow" | "deny"; cidr: string } },
  ): boolean;
  setMode(mode: FirewallMode): Promise<void>;
  addRule(
    input: { list: "allow" | "deny"; cidr: string; note?: string; expiresAt?: number | null },
    createdBy: string,
  ): Promise<FirewallRule>;
  removeRule(id: string): Promise<void>;
  /** Removes the API rule of `list` matching `cidr` (legacy routes). */
  removeByCidr(list: "allow" | "deny", cidr: string): Promise<void>;
  rules(): FirewallRule[];
  blocked(limit: number): BlockedEntry[];
  stats(): Record<string, unknown>;
}

const RING = 1_000;

function cidrOrThrow(text: string, field = "cidr"): Cidr {
  try {
    return parseCidr(text);
  } catch (error) {
    if (!(error instanceof CidrError)) throw error;
    throw new AppError(
      "FIREWALL_INVALID_CIDR",
      error.canonical
        ? `The range has host bits set; did you mean ${error.canonical}?`
        : "This is not an IP address or CIDR range",
      {
        status: 400,
        field,
        ...(error.canonical ? { details: { canonical: error.canonical } } : {}),
      },
    );
  }
}

/** Creates the firewall. */
export function createFirewall(options: {
  config: FirewallConfig;
  store: Store;
  clock: Clock;
  ids: IdFactory;
  log: Logger;
}): Firewall {
  const { config, store, clock, ids, log } = options;
  let mode: FirewallMode = config.mode as FirewallMode;
  const always = config.alwaysAllow.map((text) => parseCidr(text));
  const fromConfig: LoadedRule[] = config.rules.map((rule, index) => {
    const range = parseCidr(rule.cidr);
    return {
      id: `config-${index + 1}`,
      list: rule.list,
      cidr: range.text,
      note: rule.note ?? "",
      source: "config",
      created_at: null,
      expires_at: null,
      range,
      expiresAt: null,
    };
  });
  let fromApi: LoadedRule[] = [];
  const ring: BlockedEntry[] = [];
  let refusedTotal = 0;

  const live = () => {
    const now = clock.now();
    return [...fromConfig, ...fromApi].filter((rule) =>
      rule.expiresAt === null || rule.expiresAt > now
    );
  };

  function passes(
    ip: string,
    under: FirewallMode,
    rules: readonly LoadedRule[] = live(),
  ): { ok: boolean; reason: string } {
    if (under === "off") return { ok: true, reason: "" };
    if (always.some((range) => inCidr(ip, range))) return { ok: true, reason: "" };
    if (under === "allowlist") {
      return rules.some((rule) => rule.list === "allow" && inCidr(ip, rule.range))
        ? { ok: true, reason: "" }
        : { ok: false, reason: "not on the allow list" };
    }
    const denied = rules.find((rule) => rule.list === "deny" && inCidr(ip, rule.range));
    return denied ? { ok: false, reason: `deny list ${denied.cidr}` } : { ok: true, reason: "" };
  }

  /**
   * The rules a lockout is judged by: an allow rule that expires lets the caller in only until
   * then, so it does not count (deny rules count while they last).
   */
  function lasting(rules: readonly LoadedRule[]): LoadedRule[] {
    return rules.filter((rule) => rule.list === "deny" || rule.expiresAt === null);
  }

  function strip(rule: LoadedRule): FirewallRule {
    const { range: _range, expiresAt: _expires, ...shown } = rule;
    return shown;
  }

  return {
    get mode() {
      return mode;
    },

    async load() {
      const state = await store.db.selectFrom("firewall_state").select("mode").where("id", "=", 1)
        .limit(1).executeTakeFirst();
      if (state) mode = state.mode;
      const rows = await store.db.selectFrom("firewall_rules").selectAll().orderBy("created_at")
        .execute();
      fromApi = rows.flatMap((row) => {
        try {
          const range = parseCidr(row.cidr);
          return [{
            id: row.id,
            list: row.list,
            cidr: range.text,
            note: row.note,
            source: "api" as const,
            created_at: new Date(row.created_at).toISOString(),
            expires_at: row.expires_at === null ? null : new Date(row.expires_at).toISOString(),
            range,
            expiresAt: row.expires_at,
          }];
        } catch {
          log.warn("a stored firewall rule is not a valid range and is ignored", { id: row.id });
          return [];
        }
      });
    },

    check(ip, path) {
      if (ip === "local") return null; // in-process requests have no address
      const { ok, reason } = passes(ip, mode);
      if (ok) return null;
      refusedTotal++;
      ring.push({ timestamp: new Date(clock.now()).toISOString(), ip, reason, path });
      if (ring.length > RING) ring.shift();
      log.warn("blocked", { client_ip: ip, reason, path, mode });
      return reason;
    },

    wouldPass: (ip, under) => ip === "local" || passes(ip, under, lasting(live())).ok,

    wouldPassAfter(ip, change) {
      if (ip === "local") return true;
      let rules = live();
      try {
        if ("add" in change) {
          const range = parseCidr(change.add.cidr);
          rules = [...rules, {
            id: "",
            list: change.add.list,
            cidr: range.text,
            note: "",
            source: "api",
            created_at: null,
            expires_at: null,
            range,
            expiresAt: null,
          }];
        } else if ("removeId" in change) {
          rules = rules.filter((rule) => rule.source === "config" || rule.id !== change.removeId);
        } else {
          const text = parseCidr(change.remove.cidr).text;
          rules = rules.filter((rule) =>
            rule.source === "config" || rule.list !== change.remove.list || rule.cidr !== text
          );
        }
      } catch {
        return true;
      }
      return passes(ip, mode, lasting(rules)).ok;
    },

    async setMode(next) {
      await store.db.insertInto("firewall_state").values({
        id: 1,
        mode: next,
        updated_at: clock.now(),
      }).onConflict((oc) => oc.column("id").doUpdateSet({ mode: next, updated_at: clock.now() }))
        .execute();
      mode = next;
    },

    async addRule(input, createdBy) {
      const range = cidrOrThrow(input.cidr);
      if (live().some((rule) => rule.list === input.list && rule.cidr === range.text)) {
        throw new AppError("FIREWALL_RULE_EXISTS", "This rule exists already", {
          status: 409,
          field: "cidr",
        });
      }
      const now = clock.now();
      const row = {
        id: ids.next("fw"),
        list: input.list,
        cidr: range.text,
        note: input.note ?? "",
        created_by: createdBy,
        created_at: now,
        expires_at: input.expiresAt ?? null,
      };
      // An expired rule with the same range is replaced.
      await store.transaction(async (trx) => {
        await trx.deleteFrom("firewall_rules").where("list", "=", row.list)
          .where("cidr", "=", row.cidr).execute();
        await trx.insertInto("firewall_rules").values(row).execute();
      });
      const rule: LoadedRule = {
        id: row.id,
        list: row.list,
        cidr: row.cidr,
        note: row.note,
        source: "api",
        created_at: new Date(now).toISOString(),
        expires_at: row.expires_at === null ? null : new Date(row.expires_at).toISOString(),
        range,
        expiresAt: row.expires_at,
      };
      fromApi = [
        ...fromApi.filter((other) => !(other.list === row.list && other.cidr === row.cidr)),
        rule,
      ];
      return strip(rule);
    },

    async removeRule(id) {
      if (fromConfig.some((rule) => rule.id === id)) {
        throw new AppError(
          "FIREWALL_RULE_FROM_CONFIG",
          "This rule comes from the configuration (the config file or SYNTH_FIREWALL_RULES); remove it there",
          { status: 409 },
        );
      }
      if (!fromApi.some((rule) => rule.id === id)) {
        throw new AppError("FIREWALL_RULE_NOT_FOUND", "No such rule", { status: 404 });
      }
      await store.db.deleteFrom("firewall_rules").where("id", "=", id).execute();
      fromApi = fromApi.filter((rule) => rule.id !== id);
    },

    async removeByCidr(list, cidr) {
      const range = cidrOrThrow(cidr, "ip");
      // An API rule first; else a config rule, so that it is refused as one (409), as by id.
      const matches = (rule: LoadedRule) => rule.list === list && rule.cidr === range.text;
      const rule = fromApi.find(matches) ?? fromConfig.find(matches);
      if (!rule) {
        throw new AppError("FIREWALL_RULE_NOT_FOUND", "No such rule", { status: 404, field: "ip" });
      }
      await this.removeRule(rule.id);
    },

    rules: () => live().map(strip),

    blocked: (limit) => ring.slice(-limit).reverse(),

    stats() {
      const rules = live();
      const since = clock.now() - 300_000;
      return {
        enabled: mode !== "off",
        mode,
        whitelist_rules: rules.filter((rule) => rule.list === "allow").length,
        blacklist_rules: rules.filter((rule) => rule.list === "deny").length,
        always_allowed: always.map((range) => range.text),
        recent_violations: ring.filter((entry) => Date.parse(entry.timestamp) >= since).length,
        blocked_requests_logged: ring.length,
        blocked_total: refusedTotal,
      };
    },
  };
}
