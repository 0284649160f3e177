/**
 * `<sm-admin-keys>` (spec/dashboard.md §5.7, server.md §3.6): every API key
 * with prefix, role, owner, creation, last use and expiry. Create shows the
 * secret once, in a `<dialog>` with Copy and a warning; once that dialog
 * closes the secret is dropped and leaves the DOM. Revoke asks first, in a
 * `<dialog>`. Dialogs trap focus, close on Esc and give focus back to the
 * button that opened them.
 *
 * @module
 */
import { Task, TaskStatus } from "@lit/task";
import { css, html, nothing } from "lit";
import { type AdminUser, ApiError, type ApiKeyInfo, type Role } from "../api/client.ts";
import { SmElement } from "../app/base.ts";
import { shortTime } from "../lib/format.ts";
import { adminStyles } from "../theme/admin.ts";
import { shared } from "../theme/shared.ts";

const ROLES: readonly Role[] = ["viewer", "operator", "admin"];

function message(error: unknown): string {
  return error instanceof ApiError ? error.message : "The server could not be reached";
}

/** The API keys section. */
export class SmAdminKeys extends SmElement {
  static override properties = {
    notice: { state: true },
    failure: { state: true },
    createError: { state: true },
    createField: { state: true },
    created: { state: true },
    copied: { state: true },
    revoking: { state: true },
    pending: { state: true },
  };
  declare notice: string;
  declare failure: string;
  declare createError: string;
  declare createField: string;
  /** The key just created, secret included, while its dialog is open. */
  declare created: ApiKeyInfo | null;
  declare copied: string;
  /** The key the confirmation dialog asks about. */
  declare revoking: ApiKeyInfo | null;
  declare pending: boolean;
  #opener: HTMLElement | null = null;
  #keys = new Task(this, {
    task: async (_args: readonly [], { signal }) => {
      const [keys, users] = await Promise.all([
        this.services.api.apiKeys(signal),
        this.services.api.users(signal),
      ]);
      return { keys, users: new Map(users.map((user: AdminUser) => [user.id, user.username])) };
    },
    args: () => [] as const,
  });

  static override styles = [
    shared,
    adminStyles,
    css`
      .secret {
        display: block;
        padding: 8px;
        margin: 8px 0;
        border: 1px solid var(--sm-border);
        border-radius: var(--sm-radius);
        background: var(--sm-surface2);
        overflow-wrap: anywhere;
        user-select: all;
      }
    `,
  ];

  constructor() {
    super();
    this.notice = "";
    this.failure = "";
    this.createError = "";
    this.createField = "";
    this.created = null;
    this.copied = "";
    this.revoking = null;
    this.pending = false;
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.#keys.abort();
    // A secret never outlives the dialog that shows it.
    this.created = null;
  }

  #dialog(id: string): HTMLDialogElement | null {
    return this.renderRoot.querySelector<HTMLDialogElement>(`#${id}`);
  }

  #show(id: string, opener: HTMLElement | null) {
    this.#opener = opener;
    void this.updateComplete.then(() => this.#dialog(id)?.showModal());
  }

  #restoreFocus() {
    const opener = this.#opener;
    this.#opener = null;
    if (opener?.isConnected) opener.focus();
    else this.renderRoot.querySelector<HTMLElement>("h2[tabindex]")?.focus();
  }

  async #create(event: SubmitEvent) {
    event.preventDefault();
    const form = event.target as HTMLFormElement;
    const data = new FormData(form);
    const name = String(data.get("name") ?? "").trim();
    const role = String(data.get("role") ?? "");
    const days = String(data.get("expires") ?? "").trim();
    this.createError = "";
    this.createField = "";
    if (!name || name.length > 100) {
      this.createField = "name";
      this.createError = "Give the key a name of 1 to 100 characters";
      return;
    }
    if (days && (!/^[0-9]+$/.test(days) || Number(days) < 1 || Number(days) > 3_650)) {
      this.createField = "expires_in_days";
      this.createError = "Whole days from 1 to 3650, or empty for no expiry";
      return;
    }
    if (this.pending) return;
    this.pending = true;
    try {
      const key = await this.services.api.createApiKey({
        name,
        ...(role ? { role: role as Role } : {}),
        ...(days ? { expires_in_days: Number(days) } : {}),
      });
      form.reset();
      this.copied = "";
      this.created = key;
      this.notice = `Key ${key.name} created`;
      this.failure = "";
      this.#show("secret-dialog", form.querySelector("button[type=submit]"));
      void this.#keys.run();
    } catch (error) {
      this.createError = message(error);
      this.createField = error instanceof ApiError && error.field ? error.field : "";
    } finally {
      this.pending = false;
    }
  }

  async #copy() {
    const secret = this.created?.key;
    if (!secret) return;
    try {
      await navigator.clipboard.writeText(secret);
      this.copied = "Copied to the clipboard";
    } catch {
      this.copied = "Copying was not allowed here: select the key and copy it by hand";
    }
  }

  #secretClosed() {
    this.created = null;
    this.copied = "";
    this.#restoreFocus();
  }

  #askRevoke(key: ApiKeyInfo, event: Event) {
    this.revoking = key;
    this.#show("revoke-dialog", event.currentTarget as HTMLElement);
  }

  async #revoke() {
    const key = this.revoking;
    if (!key) return;
    if (this.pending) return;
    this.pending = true;
    try {
      await this.services.api.deleteApiKey(key.id);
      this.notice = `Key ${key.name} revoked`;
      this.failure = "";
      this.#opener = null;
      void this.#keys.run();
    } catch (error) {
      this.notice = "";
      this.failure = message(error);
    } finally {
      this.pending = false;
      this.#dialog("revoke-dialog")?.close();
    }
  }

  #revokeClosed() {
    this.revoking = null;
    this.#restoreFocus();
  }

  #input(name: string, label: string, attributes: { type: string; min?: string; max?: string }) {
    const invalid = this.createField === name;
    return html`<div>
      <label for="key-${name}">${label}</label>
      <input id="key-${name}" name=${name === "expires_in_days" ? "expires" : name}
        type=${attributes.type} min=${attributes.min ?? nothing} max=${attributes.max ?? nothing}
        autocomplete="off" aria-invalid=${invalid ? "true" : "false"}
        aria-describedby=${invalid ? `key-${name}-error` : nothing}>
      ${
      invalid
        ? html`<span id="key-${name}-error" class="error field-error" role="alert">${this.createError}</span>`
        : nothing
    }
    </div>`;
  }

  #createForm() {
    const general = this.createError && !["name", "expires_in_days"].includes(this.createField);
    return html`
      <h2>Create a key</h2>
      <form class="grid card" @submit=${this.#create} novalidate>
              ${this.#input("name", "Name", { type: "text" })}
              <div>
                <label for="key-role">Role</label>
                <select id="key-role" name="role">
                  <option value="">same as mine</option>
                  ${ROLES.map((role) => html`<option value=${role}>${role}</option>`)}
                </select>
              </div>
              ${this.#input("expires_in_days", "Days until expiry (optional)", {
                type: "number",
                min: "1",
                max: "3650",
              })}
              <div><button class="primary" type="submit" aria-disabled=${this.pending
                ? "true"
                : nothing}>Create key</button></div>
              ${general ? html`<p class="error" role="alert">${this.createError}</p>` : nothing}
            </form>
      <p class="muted">A key acts with the lower of its role and its owner's current role.</p>
    `;
  }

  #table(keys: ApiKeyInfo[], owners: Map<string, string>) {
    if (keys.length === 0) return html`<p class="muted">No API keys yet.</p>`;
    return html`
      <table class="stack">
        <thead>
          <tr>
            <th>Name</th>
            <th>Prefix</th>
            <th>Role</th>
            <th>Owner</th>
            <th>Created</th>
            <th>Last used</th>
            <th>Expires</th>
            <th>Actions</th>
          </tr>
        </thead>
        <tbody>${keys.map((key) =>
          html`
            <tr data-key=${key.id}>
              <td data-label="Name">${key.name}</td>
              <td data-label="Prefix"><code>${key.prefix}</code></td>
              <td data-label="Role">${key.role}</td>
              <td data-label="Owner">${owners.get(key.user_id) ?? key.user_id}</td>
              <td data-label="Created">${shortTime(key.created_at)}</td>
              <td data-label="Last used">${key.last_used_at
                ? shortTime(key.last_used_at)
                : "never"}</td>
              <td data-label="Expires">${key.expires_at ? shortTime(key.expires_at) : "never"}</td>
              <td data-label="Actions">
                <button class="danger" aria-label="Revoke key ${key
                  .name}" aria-disabled=${this.pending ? "true" : nothing}
                  @click=${(e: Event) => this.#askRevoke(key, e)}>Revoke</button>
              </td>
            </tr>
          `
        )}</tbody>
      </table>
    `;
  }

  #secretDialog() {
    const key = this.created;
    return html`
      <dialog id="secret-dialog" aria-labelledby="secret-title"
        aria-describedby="secret-warning" @close=${this.#secretClosed}>
            ${key?.key
              ? html`
                <h2 id="secret-title">Key ${key.name} created</h2>
                <p id="secret-warning" class="warn"><strong>Copy it now: it is shown only once.</strong>
                            The server keeps only a hash; if you lose it, revoke it and create another.</p>
                <code class="secret" data-secret>${key.key}</code>
                <p role="status">${this.copied}</p>
                <div class="buttons">
                  <button @click=${() => void this.#copy()}>Copy</button>
                  <button class="primary" @click=${() =>
                    this.#dialog("secret-dialog")?.close()}>Done</button>
                </div>
              `
              : nothing}
          </dialog>
    `;
  }

  #revokeDialog() {
    const key = this.revoking;
    return html`
      <dialog id="revoke-dialog" aria-labelledby="revoke-title"
        @close=${this.#revokeClosed}>
            ${key
              ? html`
                <h2 id="revoke-title">Revoke key ${key.name}?</h2>
                <p>Key <code>${key.prefix}</code> stops working at once, and its open sockets close.
                            This cannot be undone.</p>
                <div class="buttons">
                  <button @click=${() => this.#dialog("revoke-dialog")?.close()}>Cancel</button>
                  <button class="danger" aria-disabled=${this.pending
                    ? "true"
                    : nothing} @click=${() => void this.#revoke()}>Revoke</button>
                </div>
              `
              : nothing}
          </dialog>
    `;
  }

  override render(): unknown {
    const loaded = this.#keys.value;
    return html`
      <p class="ok" role="status">${this.notice}</p>
      ${this.failure ? html`<p class="error" role="alert">${this.failure}</p>` : nothing}
      ${this.#createForm()}
      <h2 tabindex="-1">All keys</h2>
      ${loaded
        ? this.#table(loaded.keys, loaded.users)
        : this.#keys.status === TaskStatus.ERROR
        ? html`
          <p class="error" role="alert">Could not load the keys: ${message(this.#keys.error)}</p>
          <button @click=${() => void this.#keys.run()}>Retry</button>
        `
        : html`<p role="status">Loading keys…</p>`}
      ${this.#secretDialog()} ${this.#revokeDialog()}
    `;
  }
}
customElements.define("sm-admin-keys", SmAdminKeys);

declare global {
  interface HTMLElementTagNameMap {
    "sm-admin-keys": SmAdminKeys;
  }
}
