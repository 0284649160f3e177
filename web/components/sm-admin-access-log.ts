/**
 * `<sm-admin-access-log>` (spec/dashboard.md §5.7, server.md §9): recent
 * requests (time, method, path, status, duration, user, address), filtered
 * by status class, method, path prefix, user and time range, in pages of
 * 100, with an optional refresh every 10 s. The server filters by user and
 * start time and answers at most 1,000 lines of its in-memory ring, newest
 * first, without a cursor; the other filters and the paging apply here.
 *
 * @module
 */
import { Task, TaskStatus } from "@lit/task";
import { css, html, nothing } from "lit";
import { type AccessEntry, type AdminUser, ApiError } from "../api/client.ts";
import { SmElement } from "../app/base.ts";
import { duration } from "../lib/format.ts";
import { adminStyles } from "../theme/admin.ts";
import { shared } from "../theme/shared.ts";

const PAGE = 100;
const FETCH_LIMIT = 1_000;
const REFRESH_MS = 10_000;
const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"];
const CLASSES = ["1", "2", "3", "4", "5"];

/** The filters as applied. */
interface Filters {
  statusClass: string;
  method: string;
  pathPrefix: string;
  userId: string;
  /** datetime-local values ("" for open ends). */
  from: string;
  to: string;
}

const NO_FILTERS: Filters = {
  statusClass: "",
  method: "",
  pathPrefix: "",
  userId: "",
  from: "",
  to: "",
};

function message(error: unknown): string {
  return error instanceof ApiError ? error.message : "The server could not be reached";
}

function time(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return date.toLocaleString(undefined, {
    month: "short",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  });
}

/** The access log section. */
export class SmAdminAccessLog extends SmElement {
  static override properties = {
    filters: { state: true },
    page: { state: true },
    auto: { state: true },
    filterError: { state: true },
  };
  declare filters: Filters;
  declare page: number;
  declare auto: boolean;
  declare filterError: string;
  #timer: number | null = null;
  #users = new Task(this, {
    task: (_args: readonly [], { signal }) => this.services.api.users(signal),
    args: () => [] as const,
  });
  #log = new Task(this, {
    task: ([filters]: readonly [Filters], { signal }) =>
      this.services.api.accessLog({
        limit: FETCH_LIMIT,
        ...(filters.userId ? { user_id: filters.userId } : {}),
        ...(filters.from ? { since: new Date(filters.from).toISOString() } : {}),
      }, signal),
    args: () => [this.filters] as const,
  });

  static override styles = [
    shared,
    adminStyles,
    css`
      .check {
        display: flex;
        align-items: center;
        gap: 8px;
        min-height: 44px;
        font-weight: 600;
      }
      .check input {
        min-height: 0;
        width: 20px;
        height: 20px;
      }
      td.path {
        overflow-wrap: anywhere;
      }
      .pager {
        margin: 8px 0;
      }
    `,
  ];

  constructor() {
    super();
    this.filters = NO_FILTERS;
    this.page = 0;
    this.auto = false;
    this.filterError = "";
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.#log.abort();
    this.#users.abort();
    this.#stopTimer();
  }

  #stopTimer() {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }

  #toggleAuto(event: Event) {
    this.auto = (event.target as HTMLInputElement).checked;
    this.#stopTimer();
    if (this.auto) {
      this.#timer = setInterval(() => {
        if (!document.hidden && this.#log.status !== TaskStatus.PENDING) void this.#log.run();
      }, REFRESH_MS) as unknown as number;
    }
  }

  #apply(event: SubmitEvent) {
    event.preventDefault();
    const data = new FormData(event.target as HTMLFormElement);
    const value = (name: string) => String(data.get(name) ?? "").trim();
    const filters: Filters = {
      statusClass: value("status"),
      method: value("method"),
      pathPrefix: value("path"),
      userId: value("user"),
      from: value("from"),
      to: value("to"),
    };
    if (filters.from && filters.to && new Date(filters.from) > new Date(filters.to)) {
      this.filterError = "The start of the range is after its end";
      return;
    }
    this.filterError = "";
    this.page = 0;
    // A new object: the task runs again even when nothing changed (a manual refresh).
    this.filters = filters;
  }

  #matches(entries: AccessEntry[]): AccessEntry[] {
    const f = this.filters;
    const to = f.to ? new Date(f.to).getTime() : null;
    return entries.filter((entry) =>
      (!f.statusClass || String(entry.status).startsWith(f.statusClass)) &&
      (!f.method || entry.method === f.method) &&
      (!f.pathPrefix || entry.path.startsWith(f.pathPrefix)) &&
      (to === null || Date.parse(entry.ts) <= to)
    );
  }

  #form(users: AdminUser[]) {
    const f = this.filters;
    return html`<form class="grid card" @submit=${this.#apply} novalidate>
      <div>
        <label for="log-status">Status</label>
        <select id="log-status" name="status">
          <option value="">any</option>
          ${
      CLASSES.map((c) => html`<option value=${c} ?selected=${f.statusClass === c}>${c}xx</option>`)
    }
        </select>
      </div>
      <div>
        <label for="log-method">Method</label>
        <select id="log-method" name="method">
          <option value="">any</option>
          ${METHODS.map((m) => html`<option value=${m} ?selected=${f.method === m}>${m}</option>`)}
        </select>
      </div>
      <div>
        <label for="log-path">Path starts with</label>
        <input id="log-path" name="path" autocomplete="off" spellcheck="false" placeholder="/api/"
          .value=${f.pathPrefix}>
      </div>
      <div>
        <label for="log-user">User</label>
        <select id="log-user" name="user">
          <option value="">anyone</option>
          ${
      users.map((user) =>
        html`<option value=${user.id} ?selected=${f.userId === user.id}>${user.username}</option>`
      )
    }
        </select>
      </div>
      <div>
        <label for="log-from">From</label>
        <input id="log-from" name="from" type="datetime-local" .value=${f.from}>
      </div>
      <div>
        <label for="log-to">To</label>
        <input id="log-to" name="to" type="datetime-local" .value=${f.to}
          aria-invalid=${this.filterError ? "true" : "false"}
          aria-describedby=${this.filterError ? "filter-error" : nothing}>
      </div>
      <div><button class="primary" type="submit">Apply filters</button></div>
      <div><label class="check"><input type="checkbox" .checked=${this.auto}
        @change=${this.#toggleAuto}> Refresh every 10 s</label></div>
      ${
      this.filterError
        ? html`<p id="filter-error" class="error" role="alert">${this.filterError}</p>`
        : nothing
    }
    </form>`;
  }

  #table(entries: AccessEntry[], names: Map<string, string>) {
    const matching = this.#matches(entries);
    const pages = Math.max(1, Math.ceil(matching.length / PAGE));
    const page = Math.min(this.page, pages - 1);
    const shown = matching.slice(page * PAGE, (page + 1) * PAGE);
    const first = matching.length ? page * PAGE + 1 : 0;
    const pager = html`
      <div class="row pager">
        <span>Lines ${first}–${page * PAGE + shown.length} of ${matching
          .length}${entries.length >= FETCH_LIMIT ? ` (the latest ${FETCH_LIMIT} read)` : ""}</span>
        <button ?disabled=${page === 0} @click=${() => (this.page = page - 1)}>Newer</button>
        <button ?disabled=${page >= pages - 1} @click=${() => (this.page = page + 1)}>Older</button>
      </div>
    `;
    if (matching.length === 0) return html`<p class="muted">No request matches.</p>`;
    return html`
      ${pager}<table class="stack">
        <thead>
          <tr>
            <th>Time</th>
            <th>Method</th>
            <th>Path</th>
            <th>Status</th>
            <th>Duration</th>
            <th>User</th>
            <th>Address</th>
          </tr>
        </thead>
        <tbody>${shown.map((entry) =>
          html`
            <tr>
              <td data-label="Time">${time(entry.ts)}</td>
              <td data-label="Method">${entry.method}</td>
              <td data-label="Path" class="path"><code>${entry.path}</code></td>
              <td data-label="Status">${entry.status}${entry.blocked
                ? ` (${entry.blocked})`
                : ""}</td>
              <td data-label="Duration">${duration(entry.duration_ms)}</td>
              <td data-label="User">${entry.user_id
                ? names.get(entry.user_id) ?? entry.user_id
                : "–"}</td>
              <td data-label="Address"><code>${entry.client_ip}</code></td>
            </tr>
          `
        )}</tbody>
      </table>${pager}
    `;
  }

  override render(): unknown {
    const users = this.#users.value ?? [];
    const names = new Map(users.map((user) => [user.id, user.username]));
    const entries = this.#log.value;
    return html`
      ${this.#form(users)}
      <h2 tabindex="-1">Requests, newest first</h2>
      ${this.#log.status === TaskStatus.ERROR
        ? html`
          <p class="error" role="alert">Could not load the access log: ${message(
            this.#log.error,
          )}</p>
          <button @click=${() => void this.#log.run()}>Retry</button>
        `
        : entries
        ? this.#table(entries, names)
        : html`<p role="status">Loading the access log…</p>`}
    `;
  }
}
customElements.define("sm-admin-access-log", SmAdminAccessLog);

declare global {
  interface HTMLElementTagNameMap {
    "sm-admin-access-log": SmAdminAccessLog;
  }
}
