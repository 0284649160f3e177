/**
 * `<sm-admin-firewall>` (spec/dashboard.md §5.7, server.md §8): the mode,
 * with a `FIREWALL_LOCKOUT` refusal explained; the allow and deny rules
 * with note, source and expiry; adding a range, checked by `parseCidr`
 * before anything is sent (a range with host bits set names its network);
 * removing one after a confirmation `<dialog>`; the latest refusals.
 *
 * @module
 */
import { Task, TaskStatus } from "@lit/task";
import { css, html, nothing } from "lit";
import { ApiError, type FirewallMode, type FirewallRule } from "../api/client.ts";
import { SmElement } from "../app/base.ts";
import { parseCidr } from "../lib/cidr.ts";
import { shortTime } from "../lib/format.ts";
import { adminStyles } from "../theme/admin.ts";
import { shared } from "../theme/shared.ts";

const MODES: ReadonlyArray<{ value: FirewallMode; label: string }> = [
  { value: "off", label: "off: every address passes" },
  { value: "allowlist", label: "allowlist: only allowed ranges pass" },
  { value: "denylist", label: "denylist: denied ranges are refused" },
];
const DENIALS = 50;

function message(error: unknown): string {
  return error instanceof ApiError ? error.message : "The server could not be reached";
}

/** The firewall section. */
export class SmAdminFirewall extends SmElement {
  static override properties = {
    notice: { state: true },
    failure: { state: true },
    lockout: { state: true },
    ownIp: { state: true },
    ruleError: { state: true },
    ruleField: { state: true },
    suggestion: { state: true },
    removing: { state: true },
    pending: { state: true },
  };
  declare notice: string;
  declare failure: string;
  /** The mode the server refused with `FIREWALL_LOCKOUT`, and its words. */
  declare lockout: { mode: FirewallMode; message: string } | null;
  /** The caller's address as the server logged it (best effort, for the lockout help). */
  declare ownIp: string;
  declare ruleError: string;
  declare ruleField: string;
  /** The network a range with host bits set probably meant. */
  declare suggestion: string;
  declare removing: FirewallRule | null;
  declare pending: boolean;
  #opener: HTMLElement | null = null;
  #data = new Task(this, {
    task: async (_args: readonly [], { signal }) => {
      const [rules, denials] = await Promise.all([
        this.services.api.firewallRules(signal),
        this.services.api.firewallDenials(DENIALS, signal),
      ]);
      return { rules, denials };
    },
    args: () => [] as const,
  });

  static override styles = [
    shared,
    adminStyles,
    css`
      .lockout {
        border-color: var(--sm-warn);
        margin: 8px 0;
      }
    `,
  ];

  constructor() {
    super();
    this.notice = "";
    this.failure = "";
    this.lockout = null;
    this.ownIp = "";
    this.ruleError = "";
    this.ruleField = "";
    this.suggestion = "";
    this.removing = null;
    this.pending = false;
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.#data.abort();
  }

  #said(text: string) {
    this.notice = text;
    this.failure = "";
  }

  async #setMode(mode: FirewallMode, force: boolean) {
    if (this.pending) return;
    this.pending = true;
    try {
      const answer = await this.services.api.setFirewallMode(mode, force);
      this.lockout = null;
      this.#said(`Mode set to ${answer.mode}`);
      void this.#data.run();
    } catch (error) {
      this.notice = "";
      if (error instanceof ApiError && error.code === "FIREWALL_LOCKOUT") {
        this.failure = "";
        this.lockout = { mode, message: error.message };
        void this.#findOwnIp();
      } else this.failure = message(error);
    } finally {
      this.pending = false;
    }
  }

  /** The caller's address from its latest access-log line, to name in the lockout help. */
  async #findOwnIp() {
    const me = this.services.store.state.auth.user?.id;
    if (!me) return;
    try {
      const [latest] = await this.services.api.accessLog({ limit: 1, user_id: me });
      this.ownIp = latest?.client_ip ?? "";
    } catch {
      this.ownIp = "";
    }
  }

  #submitMode(event: SubmitEvent) {
    event.preventDefault();
    const data = new FormData(event.target as HTMLFormElement);
    void this.#setMode(String(data.get("mode")) as FirewallMode, false);
  }

  async #addRule(event: SubmitEvent) {
    event.preventDefault();
    const form = event.target as HTMLFormElement;
    const data = new FormData(form);
    const list = String(data.get("list")) === "deny" ? "deny" : "allow";
    const note = String(data.get("note") ?? "").trim();
    const expires = String(data.get("expires") ?? "");
    this.ruleError = "";
    this.ruleField = "";
    this.suggestion = "";
    // Checked here first: an invalid range never reaches the server.
    const parsed = parseCidr(String(data.get("cidr") ?? ""));
    if (!parsed.ok) {
      this.ruleField = "cidr";
      this.ruleError = parsed.message;
      this.suggestion = parsed.canonical ?? "";
      return;
    }
    let expiresAt: string | undefined;
    if (expires) {
      const when = new Date(expires);
      if (Number.isNaN(when.getTime()) || when.getTime() <= Date.now()) {
        this.ruleField = "expires_at";
        this.ruleError = "The expiry must be a time in the future";
        return;
      }
      expiresAt = when.toISOString();
    }
    if (this.pending) return;
    this.pending = true;
    try {
      const rule = await this.services.api.addFirewallRule({
        list,
        cidr: parsed.range.text,
        ...(note ? { note } : {}),
        ...(expiresAt ? { expires_at: expiresAt } : {}),
      });
      form.reset();
      this.#said(`${rule.cidr} added to the ${rule.list} list`);
      void this.#data.run();
    } catch (error) {
      this.ruleError = message(error);
      this.ruleField = error instanceof ApiError && error.field ? error.field : "";
    } finally {
      this.pending = false;
    }
  }

  #useSuggestion() {
    const input = this.renderRoot.querySelector<HTMLInputElement>("#rule-cidr");
    if (!input) return;
    input.value = this.suggestion;
    this.ruleError = "";
    this.ruleField = "";
    this.suggestion = "";
    input.focus();
  }

  #askRemove(rule: FirewallRule, event: Event) {
    this.#opener = event.currentTarget as HTMLElement;
    this.removing = rule;
    void this.updateComplete.then(() =>
      this.renderRoot.querySelector<HTMLDialogElement>("dialog")?.showModal()
    );
  }

  async #remove() {
    const rule = this.removing;
    if (!rule) return;
    if (this.pending) return;
    this.pending = true;
    try {
      await this.services.api.removeFirewallRule(rule.id);
      this.#said(`${rule.cidr} removed from the ${rule.list} list`);
      this.#opener = null;
      void this.#data.run();
    } catch (error) {
      this.notice = "";
      this.failure = message(error);
    } finally {
      this.pending = false;
      this.renderRoot.querySelector<HTMLDialogElement>("dialog")?.close();
    }
  }

  #removeClosed() {
    this.removing = null;
    const opener = this.#opener;
    this.#opener = null;
    if (opener?.isConnected) opener.focus();
    else this.renderRoot.querySelector<HTMLElement>("h2[tabindex]")?.focus();
  }

  #modeForm(mode: FirewallMode, alwaysAllowed: string[]) {
    const lockout = this.lockout;
    return html`
      <h2>Mode</h2>
            <form class="grid card" @submit=${this.#submitMode}>
        <div>
          <label for="fw-mode">Mode (now ${mode})</label>
          <select id="fw-mode" name="mode">${MODES.map((item) =>
            html`<option value=${item.value} ?selected=${
              item.value === mode
            }>${item.label}</option>`
          )}</select>
        </div>
        <div><button class="primary" type="submit" aria-disabled=${this.pending
          ? "true"
          : nothing}>Apply mode</button></div>
      </form>
            ${alwaysAllowed.length
              ? html`<p class="muted">Always allowed, whatever the mode: ${
                alwaysAllowed.join(", ")
              }</p>`
              : nothing}
            ${lockout
              ? html`
                <div class="card lockout" role="alert">
                  <p><strong>Not applied: ${lockout.mode} would lock you out.</strong> ${lockout
                    .message}</p>
                  <p>The server refused because your own address${this.ownIp
                    ? html`
                      (<code>${this.ownIp}</code>)
                    `
                    : nothing} would not pass under this mode, so this session could no longer reach it.
                            Add an allow rule covering your address first${lockout.mode ===
                                "denylist"
                              ? ", or remove the deny rule that covers it"
                              : ""}, then apply the mode again.</p>
                  <div class="row">
                    <button class="danger" aria-disabled=${this.pending ? "true" : nothing}
                      @click=${() => void this.#setMode(lockout.mode, true)}>Apply ${lockout
                        .mode} anyway</button>
                    <button @click=${() => (this.lockout = null)}>Dismiss</button>
                  </div>
                </div>
              `
              : nothing}
    `;
  }

  #field(name: string, control: unknown) {
    const invalid = this.ruleField === name;
    return html`${control}${
      invalid
        ? html`
          <span id="rule-${name}-error" class="error field-error"
            role="alert">${this.ruleError}${name === "cidr" && this.suggestion
              ? html`
                <button type="button" @click=${this.#useSuggestion}>Use ${this.suggestion}</button>
              `
              : nothing}</span>
        `
        : nothing
    }`;
  }

  #ruleForm() {
    const invalid = (name: string) => this.ruleField === name;
    const general = this.ruleError && !["cidr", "expires_at"].includes(this.ruleField);
    return html`
      <h2>Add a rule</h2>
      <form class="grid card" @submit=${this.#addRule} novalidate>
              <div>
                <label for="rule-list">List</label>
                <select id="rule-list" name="list">
                  <option value="allow">allow</option>
                  <option value="deny">deny</option>
                </select>
              </div>
              <div>${this.#field(
                "cidr",
                html`
                  <label for="rule-cidr">Address or CIDR range</label>
                  <input id="rule-cidr" name="cidr" required autocomplete="off" spellcheck="false"
                    placeholder="203.0.113.0/24" aria-invalid=${invalid("cidr") ? "true" : "false"}
                    aria-describedby=${invalid("cidr") ? "rule-cidr-error" : nothing}>
                `,
              )}</div>
              <div>
                <label for="rule-note">Note (optional)</label>
                <input id="rule-note" name="note" maxlength="200" autocomplete="off">
              </div>
              <div>${this.#field(
                "expires_at",
                html`
                  <label for="rule-expires">Expires (optional)</label>
                  <input id="rule-expires" name="expires" type="datetime-local"
                    aria-invalid=${invalid("expires_at") ? "true" : "false"}
                    aria-describedby=${invalid("expires_at") ? "rule-expires_at-error" : nothing}>
                `,
              )}</div>
              <div><button class="primary" type="submit" aria-disabled=${this.pending
                ? "true"
                : nothing}>Add rule</button></div>
              ${general ? html`<p class="error" role="alert">${this.ruleError}</p>` : nothing}
            </form>
    `;
  }

  #rules(rules: FirewallRule[]) {
    if (rules.length === 0) return html`<p class="muted">No rules.</p>`;
    return html`
      <table class="stack">
        <thead>
          <tr>
            <th>List</th>
            <th>Range</th>
            <th>Note</th>
            <th>Source</th>
            <th>Created</th>
            <th>Expires</th>
            <th>Actions</th>
          </tr>
        </thead>
        <tbody>${rules.map((rule) =>
          html`
            <tr data-rule=${rule.id}>
              <td data-label="List">${rule.list}</td>
              <td data-label="Range"><code>${rule.cidr}</code></td>
              <td data-label="Note">${rule.note || "–"}</td>
              <td data-label="Source">${rule.source}</td>
              <td data-label="Created">${rule.created_at ? shortTime(rule.created_at) : "–"}</td>
              <td data-label="Expires">${rule.expires_at
                ? shortTime(rule.expires_at)
                : "never"}</td>
              <td data-label="Actions">${rule.source === "config"
                ? html`<span class="muted">from the config file</span>`
                : html`
                  <button class="danger" aria-label="Remove ${rule.list} rule ${rule.cidr}"
                    aria-disabled=${this.pending ? "true" : nothing} @click=${(e: Event) =>
                      this.#askRemove(rule, e)}>Remove</button>
                `}</td>
            </tr>
          `
        )}</tbody>
      </table>
    `;
  }

  #denials(denials: Array<{ timestamp: string; ip: string; reason: string; path: string }>) {
    return html`<div class="row"><h2>Recent refusals</h2>
        <button ?disabled=${this.#data.status === TaskStatus.PENDING} @click=${() =>
      void this.#data.run()}>Refresh</button></div>
      ${
      denials.length === 0 ? html`<p class="muted">No request has been refused.</p>` : html`
        <table class="stack">
          <thead>
            <tr>
              <th>Time</th>
              <th>Address</th>
              <th>Reason</th>
              <th>Path</th>
            </tr>
          </thead>
          <tbody>${denials.map((entry) =>
            html`
              <tr>
                <td data-label="Time">${shortTime(entry.timestamp)}</td>
                <td data-label="Address"><code>${entry.ip}</code></td>
                <td data-label="Reason">${entry.reason}</td>
                <td data-label="Path"><code>${entry.path}</code></td>
              </tr>
            `
          )}</tbody>
        </table>
      `
    }`;
  }

  #removeDialog() {
    const rule = this.removing;
    return html`<dialog aria-labelledby="remove-title" @close=${this.#removeClosed}>${
      rule
        ? html`
          <h2 id="remove-title">Remove ${rule.cidr}?</h2>
          <p>The ${rule.list} rule for <code>${rule.cidr}</code>${rule.note
            ? html`
              (${rule.note})
            `
            : nothing} stops applying at once.</p>
          <div class="buttons">
            <button @click=${() =>
              this.renderRoot.querySelector<HTMLDialogElement>("dialog")?.close()}>Cancel</button>
            <button class="danger" aria-disabled=${this.pending ? "true" : nothing} @click=${() =>
              void this.#remove()}>Remove</button>
          </div>
        `
        : nothing
    }</dialog>`;
  }

  override render(): unknown {
    const data = this.#data.value;
    const body = data
      ? html`${this.#modeForm(data.rules.mode, data.rules.always_allowed)}
        ${this.#ruleForm()}
        <h2 tabindex="-1">Rules</h2>
        ${this.#rules(data.rules.rules)}
        ${this.#denials(data.denials)}`
      : this.#data.status === TaskStatus.ERROR
      ? html`
        <p class="error" role="alert">Could not load the firewall: ${message(this.#data.error)}</p>
        <button @click=${() => void this.#data.run()}>Retry</button>
      `
      : html`<p role="status">Loading the firewall…</p>`;
    return html`
      <p class="ok" role="status">${this.notice}</p>
      ${this.failure ? html`<p class="error" role="alert">${this.failure}</p>` : nothing}
      ${body}
      ${this.#removeDialog()}
    `;
  }
}
customElements.define("sm-admin-firewall", SmAdminFirewall);

declare global {
  interface HTMLElementTagNameMap {
    "sm-admin-firewall": SmAdminFirewall;
  }
}
