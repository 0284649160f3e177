/**
 * `<sm-admin-rate-limits>` (spec/dashboard.md §5.7, server.md §6): the
 * tiers with their limits and windows, the clients limited now with the
 * time left in the window of their last refusal, and a reset of a client's
 * counters. The server lists no limited clients itself, so they come from
 * the access log's `blocked: "rate_limit"` lines; their keys follow the
 * server's (`u:<user id>`, or `ip:<address>` with IPv6 by its /64).
 *
 * @module
 */
import { Task, TaskStatus } from "@lit/task";
import { html, nothing } from "lit";
import { ApiError, type RateTierStats } from "../api/client.ts";
import { SmElement } from "../app/base.ts";
import { shortTime } from "../lib/format.ts";
import { type LimitedClient, limitedClients } from "../lib/rate_clients.ts";
import { adminStyles } from "../theme/admin.ts";
import { shared } from "../theme/shared.ts";

function message(error: unknown): string {
  return error instanceof ApiError ? error.message : "The server could not be reached";
}

/** The rate limits section. */
export class SmAdminRateLimits extends SmElement {
  static override properties = {
    notice: { state: true },
    failure: { state: true },
    resetError: { state: true },
    now: { state: true },
    pending: { state: true },
  };
  declare notice: string;
  declare failure: string;
  declare resetError: string;
  /** The clock of the countdowns, ticking each second. */
  declare now: number;
  declare pending: boolean;
  #ticker: number | null = null;
  #data = new Task(this, {
    task: async (_args: readonly [], { signal }) => {
      const [stats, entries, users] = await Promise.all([
        this.services.api.rateLimitStats(signal),
        this.services.api.accessLog({ limit: 1_000 }, signal),
        this.services.api.users(signal),
      ]);
      this.now = Date.now();
      return {
        stats,
        entries,
        names: new Map(users.map((user) => [`u:${user.id}`, user.username])),
      };
    },
    args: () => [] as const,
  });

  static override styles = [shared, adminStyles];

  constructor() {
    super();
    this.notice = "";
    this.failure = "";
    this.resetError = "";
    this.now = Date.now();
    this.pending = false;
  }

  override connectedCallback(): void {
    super.connectedCallback();
    this.#ticker = setInterval(() => (this.now = Date.now()), 1_000) as unknown as number;
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.#data.abort();
    if (this.#ticker !== null) clearInterval(this.#ticker);
    this.#ticker = null;
  }

  async #reset(key: string): Promise<boolean> {
    if (this.pending) return false;
    this.pending = true;
    try {
      await this.services.api.resetRateLimitClient(key);
      this.notice = `Counters of ${key} cleared`;
      this.failure = "";
      void this.#data.run();
      return true;
    } catch (error) {
      this.notice = "";
      this.failure = `${key}: ${message(error)}`;
      return false;
    } finally {
      this.pending = false;
    }
  }

  async #submitReset(event: SubmitEvent) {
    event.preventDefault();
    const form = event.target as HTMLFormElement;
    const key = String(new FormData(form).get("key") ?? "").trim();
    this.resetError = "";
    if (!/^(u|ip):\S+$/.test(key)) {
      this.resetError = "A key is u:<user id> or ip:<address>";
      return;
    }
    if (await this.#reset(key)) form.reset();
  }

  #tiers(tiers: Record<string, RateTierStats>) {
    return html`
      <table class="stack">
        <thead>
          <tr>
            <th>Tier</th>
            <th>Limit</th>
            <th>Window</th>
            <th>Tracked clients</th>
            <th>Limited now</th>
            <th>Refused in total</th>
          </tr>
        </thead>
        <tbody>${Object.entries(tiers).map(([name, tier]) =>
          html`
            <tr>
              <td data-label="Tier">${name}</td>
              <td data-label="Limit">${tier.limit} requests</td>
              <td data-label="Window">${tier.window_seconds} s</td>
              <td data-label="Tracked clients">${tier.active_clients}</td>
              <td data-label="Limited now">${tier.blocked_clients}</td>
              <td data-label="Refused in total">${tier.refused_total}</td>
            </tr>
          `
        )}</tbody>
      </table>
    `;
  }

  #clients(clients: LimitedClient[], names: Map<string, string>) {
    if (clients.length === 0) {
      return html`<p class="muted">No client is limited now.</p>`;
    }
    return html`
      <table class="stack">
        <thead>
          <tr>
            <th>Client</th>
            <th>Tier</th>
            <th>Refusals</th>
            <th>Last refused</th>
            <th>Window ends in</th>
            <th>Actions</th>
          </tr>
        </thead>
        <tbody>${clients.map((client) =>
          html`
            <tr>
              <td data-label="Client"><code>${client.key}</code>${names.has(client.key)
                ? ` (${names.get(client.key)})`
                : nothing}</td>
              <td data-label="Tier">${client.tier}</td>
              <td data-label="Refusals">${client.refusals}</td>
              <td data-label="Last refused">${shortTime(client.last)} <code>${client
                .lastPath}</code></td>
              <td data-label="Window ends in">${Math.ceil(
                (client.windowEnd - this.now) / 1_000,
              )} s</td>
              <td data-label="Actions"><button aria-label="Reset ${client
                .key}" aria-disabled=${this.pending ? "true" : nothing}
                        @click=${() => void this.#reset(client.key)}>Reset</button></td>
            </tr>
          `
        )}</tbody>
      </table>
      <p class="muted">A client refused in a window may be refused again in the next one while it
            keeps sending; a reset clears its counters in every tier.</p>
    `;
  }

  #resetForm() {
    return html`
      <h2>Reset a client</h2>
      <form class="grid card" @submit=${this.#submitReset} novalidate>
        <div>
                <label for="reset-key">Client key</label>
                <input id="reset-key" name="key" autocomplete="off" spellcheck="false"
                  placeholder="u:usr_… or ip:203.0.113.7" aria-invalid=${this.resetError
                    ? "true"
                    : "false"}
                  aria-describedby=${this.resetError ? "reset-key-error" : nothing}>
                ${this.resetError
                  ? html`<span id="reset-key-error" class="error field-error" role="alert">${this.resetError}</span>`
                  : nothing}
              </div>
        <div><button type="submit" aria-disabled=${this.pending
          ? "true"
          : nothing}>Reset counters</button></div>
      </form>
    `;
  }

  override render(): unknown {
    const data = this.#data.value;
    const body = data
      ? html`${
        data.stats.enabled
          ? nothing
          : html`<p class="warn">Rate limiting is off on this server (rateLimit.enabled is false).</p>`
      }
        <h2>Tiers</h2>
        ${this.#tiers(data.stats.tiers)}
        <div class="row"><h2 tabindex="-1">Limited clients</h2>
          <button ?disabled=${this.#data.status === TaskStatus.PENDING} @click=${() =>
        void this.#data.run()}>Refresh</button></div>
        ${this.#clients(limitedClients(data.entries, data.stats.tiers, this.now), data.names)}
        ${this.#resetForm()}`
      : this.#data.status === TaskStatus.ERROR
      ? html`
        <p class="error" role="alert">Could not load the rate limits: ${message(
          this.#data.error,
        )}</p>
        <button @click=${() => void this.#data.run()}>Retry</button>
      `
      : html`<p role="status">Loading the rate limits…</p>`;
    return html`
      <p class="ok" role="status">${this.notice}</p>
      ${this.failure ? html`<p class="error" role="alert">${this.failure}</p>` : nothing}
      ${body}
    `;
  }
}
customElements.define("sm-admin-rate-limits", SmAdminRateLimits);

declare global {
  interface HTMLElementTagNameMap {
    "sm-admin-rate-limits": SmAdminRateLimits;
  }
}
