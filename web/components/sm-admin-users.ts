/**
 * `<sm-admin-users>` (spec/dashboard.md §5.7, server.md §3): every user
 * with role, state, creation and last sign-in; create a user, change a
 * role, deactivate or reactivate, reset a password. The server decides:
 * its refusals (such as `USER_LAST_ADMIN`) are shown as it words them.
 * Role and password changes happen in `<dialog>`s that trap focus, close
 * on Esc and give focus back to the button that opened them.
 *
 * @module
 */
import { Task, TaskStatus } from "@lit/task";
import { css, html, nothing } from "lit";
import { type AdminUser, ApiError, type Role } from "../api/client.ts";
import { SmElement } from "../app/base.ts";
import { shortTime } from "../lib/format.ts";
import { adminStyles } from "../theme/admin.ts";
import { shared } from "../theme/shared.ts";

const ROLES: readonly Role[] = ["viewer", "operator", "admin"];
const USERNAME = /^[a-z0-9][a-z0-9_.-]{2,31}$/;

function message(error: unknown): string {
  return error instanceof ApiError ? error.message : "The server could not be reached";
}

/** The users section. */
export class SmAdminUsers extends SmElement {
  static override properties = {
    notice: { state: true },
    failure: { state: true },
    createError: { state: true },
    createField: { state: true },
    target: { state: true },
    dialog: { state: true },
    dialogError: { state: true },
    pending: { state: true },
  };
  /** The last action's outcome (polite). */
  declare notice: string;
  /** The last action's refusal outside a dialog (assertive). */
  declare failure: string;
  declare createError: string;
  declare createField: string;
  /** The user a dialog acts on. */
  declare target: AdminUser | null;
  declare dialog: "role" | "password" | null;
  declare dialogError: string;
  declare pending: boolean;
  #opener: HTMLElement | null = null;
  #me = this.select((state) => state.auth.user?.id ?? null);
  #users = new Task(this, {
    task: (_args: readonly [], { signal }) => this.services.api.users(signal),
    args: () => [] as const,
  });

  static override styles = [
    shared,
    adminStyles,
    css`
      td.actions {
        display: flex;
        flex-wrap: wrap;
        gap: 4px;
      }
    `,
  ];

  constructor() {
    super();
    this.notice = "";
    this.failure = "";
    this.createError = "";
    this.createField = "";
    this.target = null;
    this.dialog = null;
    this.dialogError = "";
    this.pending = false;
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.#users.abort();
  }

  #said(text: string) {
    this.notice = text;
    this.failure = "";
  }

  async #create(event: SubmitEvent) {
    event.preventDefault();
    const form = event.target as HTMLFormElement;
    const data = new FormData(form);
    const username = String(data.get("username") ?? "").trim().toLowerCase();
    const password = String(data.get("password") ?? "");
    const role = String(data.get("role") ?? "viewer") as Role;
    this.createError = "";
    this.createField = "";
    if (!USERNAME.test(username)) {
      this.createField = "username";
      this.createError =
        "3 to 32 characters: lower-case letters, digits, '.', '_' or '-', starting with a letter or digit";
      return;
    }
    if (password.length < 12 || password.length > 128) {
      this.createField = "password";
      this.createError = "The password needs 12 to 128 characters";
      return;
    }
    if (this.pending) return;
    this.pending = true;
    try {
      const user = await this.services.api.createUser({ username, password, role });
      form.reset();
      this.#said(`User ${user.username} created as ${user.role}`);
      void this.#users.run();
    } catch (error) {
      this.createError = message(error);
      this.createField = error instanceof ApiError && error.field ? error.field : "";
    } finally {
      this.pending = false;
    }
  }

  async #setActive(user: AdminUser) {
    if (this.pending) return;
    this.pending = true;
    try {
      const updated = await this.services.api.setUserActive(user.username, !user.active);
      this.#said(`${updated.username} is ${updated.active ? "active again" : "deactivated"}`);
      void this.#users.run();
    } catch (error) {
      this.notice = "";
      this.failure = message(error);
    } finally {
      this.pending = false;
    }
  }

  #open(kind: "role" | "password", user: AdminUser, event: Event) {
    this.#opener = event.currentTarget as HTMLElement;
    this.target = user;
    this.dialog = kind;
    this.dialogError = "";
    void this.updateComplete.then(() =>
      this.renderRoot.querySelector<HTMLDialogElement>("dialog")?.showModal()
    );
  }

  #close() {
    this.renderRoot.querySelector<HTMLDialogElement>("dialog")?.close();
  }

  /** After the dialog closed (button, Esc or success): forget it and give focus back. */
  #closed() {
    this.dialog = null;
    this.target = null;
    this.dialogError = "";
    const opener = this.#opener;
    this.#opener = null;
    if (opener?.isConnected) opener.focus();
    else this.renderRoot.querySelector<HTMLElement>("h2")?.focus();
  }

  async #submitDialog(event: SubmitEvent) {
    event.preventDefault();
    const user = this.target;
    if (!user) return;
    const data = new FormData(event.target as HTMLFormElement);
    this.dialogError = "";
    if (this.pending) return;
    this.pending = true;
    try {
      if (this.dialog === "role") {
        const answer = await this.services.api.setUserRole(
          user.username,
          String(data.get("role")) as Role,
        );
        this.#said(`${user.username}: ${answer.message}`);
      } else {
        const password = String(data.get("password") ?? "");
        if (password !== String(data.get("confirm") ?? "")) {
          this.dialogError = "The passwords do not match";
          return;
        }
        if (password.length < 12 || password.length > 128) {
          this.dialogError = "The password needs 12 to 128 characters";
          return;
        }
        const answer = await this.services.api.setUserPassword(user.username, password);
        this.#said(`${user.username}: ${answer.message}`);
      }
      this.#close();
      void this.#users.run();
    } catch (error) {
      this.dialogError = message(error);
    } finally {
      this.pending = false;
    }
  }

  #field(name: string, label: string, type: string, autocomplete: string) {
    const invalid = this.createField === name;
    return html`<div>
      <label for="new-${name}">${label}</label>
      <input id="new-${name}" name=${name} type=${type} autocomplete=${autocomplete} required
        aria-invalid=${invalid ? "true" : "false"}
        aria-describedby=${invalid ? `new-${name}-error` : nothing}>
      ${
      invalid
        ? html`<span id="new-${name}-error" class="error field-error" role="alert">${this.createError}</span>`
        : nothing
    }
    </div>`;
  }

  #createForm() {
    const general = this.createError && !["username", "password"].includes(this.createField);
    return html`
      <h2>Create a user</h2>
      <form class="grid card" @submit=${this.#create} novalidate>
              ${this.#field("username", "Username", "text", "off")}
              ${this.#field("password", "Password", "password", "new-password")}
              <div>
                <label for="new-role">Role</label>
                <select id="new-role" name="role">
                  ${ROLES.map((role) => html`<option value=${role}>${role}</option>`)}
                </select>
              </div>
              <div><button class="primary" type="submit" aria-disabled=${this.pending
                ? "true"
                : nothing}>Create user</button></div>
              ${general ? html`<p class="error" role="alert">${this.createError}</p>` : nothing}
            </form>
    `;
  }

  #table(users: AdminUser[]) {
    return html`
      <table class="stack">
        <thead>
          <tr>
            <th>Username</th>
            <th>Role</th>
            <th>Active</th>
            <th>Created</th>
            <th>Last login</th>
            <th>Actions</th>
          </tr>
        </thead>
        <tbody>${users.map((user) =>
          html`
            <tr data-user=${user.username}>
              <td data-label="Username">${user.username}${user.id === this.#me.value
                ? " (you)"
                : ""}</td>
              <td data-label="Role">${user.role}</td>
              <td data-label="Active">${user.active ? "yes" : "no (deactivated)"}</td>
              <td data-label="Created">${user.created_at ? shortTime(user.created_at) : "–"}</td>
              <td data-label="Last login">${user.last_login
                ? shortTime(user.last_login)
                : "never"}</td>
              <td data-label="Actions" class="actions">
                <button aria-label="Change role of ${user.username}" aria-disabled=${this.pending
                  ? "true"
                  : nothing}
                  @click=${(e: Event) => this.#open("role", user, e)}>Change role</button>
                <button aria-label="${user.active ? "Deactivate" : "Reactivate"} ${user.username}"
                  class=${user.active ? "danger" : ""} aria-disabled=${this.pending
                    ? "true"
                    : nothing}
                  @click=${() => void this.#setActive(user)}>${user.active
                    ? "Deactivate"
                    : "Reactivate"}</button>
                <button aria-label="Reset password of ${user.username}" aria-disabled=${this.pending
                  ? "true"
                  : nothing}
                  @click=${(e: Event) => this.#open("password", user, e)}>Reset password</button>
              </td>
            </tr>
          `
        )}</tbody>
      </table>
    `;
  }

  #dialog() {
    const user = this.target;
    const role = this.dialog === "role";
    const self = user !== null && user.id === this.#me.value;
    return html`<dialog aria-labelledby="dialog-title" @close=${this.#closed}>
      ${
      user
        ? html`<form @submit=${this.#submitDialog} novalidate>
        <h2 id="dialog-title">${role ? "Change role of" : "Reset password of"} ${user.username}</h2>
        ${
          role
            ? html`
              <label for="dialog-role">Role</label>
              <select id="dialog-role" name="role">${ROLES.map((item) =>
                html`<option value=${item} ?selected=${item === user.role}>${item}</option>`
              )}</select>
              <p class="muted">A role change ends the user's current logins.</p>
              ${self ? html`<p class="warn">This is you: you will be signed out.</p>` : nothing}
            `
            : html`
              <label for="dialog-password">New password</label>
              <input id="dialog-password" name="password" type="password"
                autocomplete="new-password" required aria-describedby="dialog-error">
              <label for="dialog-confirm">Confirm the new password</label>
              <input id="dialog-confirm" name="confirm" type="password"
                autocomplete="new-password" required aria-describedby="dialog-error">
              <p class="muted">12 to 128 characters. The user's current logins end.</p>
              ${self ? html`<p class="warn">This is you: you will be signed out.</p>` : nothing}
            `
        }
        <p id="dialog-error" class="error" role="alert">${this.dialogError}</p>
        <div class="buttons">
          <button type="button" @click=${this.#close}>Cancel</button>
          <button class="primary" type="submit" aria-disabled=${this.pending ? "true" : nothing}>${
          role ? "Save role" : "Set password"
        }</button>
        </div>
      </form>`
        : nothing
    }
    </dialog>`;
  }

  override render(): unknown {
    const users = this.#users.value;
    const status = this.#users.status;
    return html`
      <p class="ok" role="status">${this.notice}</p>
      ${this.failure ? html`<p class="error" role="alert">${this.failure}</p>` : nothing}
      ${this.#createForm()}
      <h2 tabindex="-1">All users</h2>
      ${users ? this.#table(users) : status === TaskStatus.ERROR
        ? html`
          <p class="error" role="alert">Could not load the users: ${message(this.#users.error)}</p>
          <button @click=${() => void this.#users.run()}>Retry</button>
        `
        : html`<p role="status">Loading users…</p>`}
      ${this.#dialog()}
    `;
  }
}
customElements.define("sm-admin-users", SmAdminUsers);

declare global {
  interface HTMLElementTagNameMap {
    "sm-admin-users": SmAdminUsers;
  }
}
