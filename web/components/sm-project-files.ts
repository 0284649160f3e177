/**
 * `<sm-project-files>` (spec/dashboard.md §5.4, Files tab): a project's
 * workspace and, when the project has version control, its history.
 * - The listing: path, size, modified time and a short SHA-256, with a
 *   Download button per file. Downloads go through `fetch` with the token
 *   and a Blob object URL, revoked afterwards (§2).
 * - With `project.vcs`: the commits, newest first (short hash, subject,
 *   time), and Roll back… on every commit but the newest, after a
 *   confirmation `<dialog>` naming the commit (operators and admins). A
 *   rollback reloads both lists and announces the backup branch.
 *
 * It loads while `active` (its tab is shown) whenever the project or
 * `refresh` changed since the last load; its page bumps `refresh` on live
 * events that {@link changesFiles}. Paths and subjects are text bindings.
 *
 * @module
 */
import { css, html, nothing } from "lit";
import { SmElement } from "../app/base.ts";
import { errorText } from "../app/card.ts";
import { byteSize, saveBlob } from "../lib/download.ts";
import { shortTime } from "../lib/format.ts";
import type { ProjectSummary } from "../lib/project_view.ts";
import type { VcsCommit, WorkspaceFile } from "../state/types.ts";
import { shared } from "../theme/shared.ts";

/** Whether a project event may have changed the workspace or its history. */
export function changesFiles(type: string): boolean {
  // Every iteration ends with task.progress, task.completed or exit; vcs.* are commits and rollbacks.
  return type === "task.progress" || type === "task.completed" || type === "exit" ||
    type.startsWith("vcs.");
}

const short = (hash: string) => hash.slice(0, 7);

/** The Files tab. */
export class SmProjectFiles extends SmElement {
  static override properties = {
    project: { attribute: false },
    active: { type: Boolean },
    refresh: { type: Number },
    files: { state: true },
    commits: { state: true },
    loading: { state: true },
    error: { state: true },
    logError: { state: true },
    status: { state: true },
    downloading: { state: true },
    rollingBack: { state: true },
    dialogError: { state: true },
    busy: { state: true },
  };
  declare project: ProjectSummary | null;
  /** Its tab is shown: only then does it load. */
  declare active: boolean;
  /** Bumped by the page when the workspace may have changed. */
  declare refresh: number;
  /** The listing, null before it loaded. */
  declare files: WorkspaceFile[] | null;
  /** The history, newest first; null before it loaded or without version control. */
  declare commits: VcsCommit[] | null;
  declare loading: boolean;
  /** Why the listing (or a download) failed. */
  declare error: string;
  /** Why the history failed. */
  declare logError: string;
  /** Polite announcements: downloads and rollbacks. */
  declare status: string;
  /** The path being downloaded. */
  declare downloading: string | null;
  /** The commit the confirmation dialog names. */
  declare rollingBack: VcsCommit | null;
  declare dialogError: string;
  /** A rollback is being sent. */
  declare busy: boolean;
  #role = this.select((s) => s.auth.user?.role ?? null);
  /** What the shown lists were loaded for: project, version control and `refresh`. */
  #loadedKey = "";
  #request: AbortController | null = null;
  #opener: HTMLElement | null = null;
  #rolledBack = false;

  static override styles = [
    shared,
    css`
      :host {
        display: block;
      }
      section + section {
        margin-top: 16px;
      }
      h2 {
        margin-top: 0;
      }
      td {
        overflow-wrap: anywhere;
      }
      .num,
      time {
        font-variant-numeric: tabular-nums;
      }
      td.action {
        text-align: right;
      }
      .head {
        font-size: 0.85rem;
        border: 1px solid var(--sm-border);
        border-radius: 999px;
        padding: 0 6px;
        margin-left: 4px;
      }
      dialog {
        width: min(480px, 100vw);
        border: 1px solid var(--sm-border);
        border-radius: var(--sm-radius);
        background: var(--sm-surface);
        color: var(--sm-text);
      }
      dialog::backdrop {
        background: rgb(0 0 0 / 40%);
      }
      blockquote {
        margin: 8px 0;
        padding: 8px 12px;
        border-left: 4px solid var(--sm-border);
        background: var(--sm-surface2);
        overflow-wrap: anywhere;
      }
      @media (max-width: 599px) {
        td.action {
          text-align: left;
        }
      }
    `,
  ];

  constructor() {
    super();
    this.project = null;
    this.active = false;
    this.refresh = 0;
    this.files = null;
    this.commits = null;
    this.loading = false;
    this.error = "";
    this.logError = "";
    this.status = "";
    this.downloading = null;
    this.rollingBack = null;
    this.dialogError = "";
    this.busy = false;
  }

  override connectedCallback(): void {
    super.connectedCallback();
    // Back in the page after a load was cut short: load again.
    if (this.hasUpdated && this.#loadedKey === "") this.requestUpdate();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.#request?.abort();
    this.#request = null;
    this.#loadedKey = "";
  }

  override willUpdate(): void {
    const project = this.project;
    if (!this.active || !project) return;
    const key = `${project.id} ${project.vcs} ${this.refresh}`;
    if (key === this.#loadedKey) return;
    if (!this.#loadedKey.startsWith(`${project.id} `)) {
      // Another project: nothing of the last one stays on screen.
      this.files = null;
      this.commits = null;
      this.status = "";
    }
    this.#loadedKey = key;
    void this.#load();
  }

  /** Loads the listing and, with version control, the history. */
  async #load(): Promise<void> {
    const project = this.project;
    if (!project) return;
    this.#request?.abort();
    const request = new AbortController();
    this.#request = request;
    const { signal } = request;
    const api = this.services.api;
    this.loading = true;
    this.error = "";
    this.logError = "";
    const [files, log] = await Promise.allSettled([
      api.projectFiles(project.id, signal),
      project.vcs ? api.vcsLog(project.id, signal) : Promise.resolve(null),
    ]);
    if (signal.aborted) return;
    this.#request = null;
    this.loading = false;
    if (files.status === "fulfilled") this.files = files.value;
    else this.error = errorText(files.reason);
    if (log.status === "fulfilled") this.commits = log.value;
    else {
      this.commits = null;
      this.logError = errorText(log.reason);
    }
  }

  async #download(file: WorkspaceFile) {
    const project = this.project;
    if (!project) return;
    this.downloading = file.path;
    this.error = "";
    try {
      const { blob, filename } = await this.services.api.downloadProjectFile(project.id, file.path);
      saveBlob(blob, filename, { parent: this.renderRoot });
      this.status = `Downloaded ${filename}.`;
    } catch (error) {
      this.error = errorText(error);
    } finally {
      this.downloading = null;
    }
  }

  get #dialog(): HTMLDialogElement | null {
    return this.renderRoot.querySelector("dialog");
  }

  async #ask(commit: VcsCommit, event: Event) {
    this.#opener = event.currentTarget as HTMLElement;
    this.#rolledBack = false;
    this.rollingBack = commit;
    this.dialogError = "";
    await this.updateComplete;
    this.#dialog?.showModal();
  }

  #rollBack = async () => {
    const project = this.project;
    const commit = this.rollingBack;
    if (!project || !commit) return;
    this.busy = true;
    this.dialogError = "";
    try {
      const done = await this.services.api.vcsRollback(project.id, commit.hash);
      this.#rolledBack = true;
      this.status = `Rolled back to ${
        short(done.head)
      }. The state before is kept on the branch ${done.backup_branch}.`;
      this.#dialog?.close();
      void this.#load();
    } catch (error) {
      this.dialogError = errorText(error);
    } finally {
      this.busy = false;
    }
  };

  #closed = () => {
    this.rollingBack = null;
    // After a rollback the opener's row may be gone: focus goes to the history's heading.
    const target = !this.#rolledBack && this.#opener?.isConnected
      ? this.#opener
      : this.renderRoot.querySelector<HTMLElement>("#vcs-title");
    target?.focus();
    this.#opener = null;
  };

  #fileRow(file: WorkspaceFile) {
    const modified = file.modified_at;
    return html`
      <tr data-path=${file.path}>
        <td data-label="Path"><code>${file.path}</code></td>
        <td data-label="Size" class="num" title="${file.bytes} bytes">${byteSize(file.bytes)}</td>
        <td data-label="Modified">${modified
          ? html`<time datetime=${modified}>${shortTime(modified)}</time>`
          : "—"}</td>
        <td data-label="SHA-256"><code title=${file.sha256}>${file.sha256.slice(0, 12)}</code></td>
        <td class="action">
          <button type="button" aria-label="Download ${file.path}"
            ?disabled=${this.downloading === file.path}
            @click=${() => void this.#download(file)}>Download</button>
        </td>
      </tr>
    `;
  }

  #listing() {
    const files = this.files;
    if (files === null) return nothing;
    if (files.length === 0) return html`<p class="muted">No files yet.</p>`;
    return html`
      <table class="stack" aria-label="Workspace files">
        <thead>
          <tr>
            <th scope="col">Path</th>
            <th scope="col">Size</th>
            <th scope="col">Modified</th>
            <th scope="col">SHA-256</th>
            <th scope="col"><span class="sr-only">Download</span></th>
          </tr>
        </thead>
        <tbody>${files.map((file) => this.#fileRow(file))}</tbody>
      </table>
    `;
  }

  /** A commit; `rollBack` says whether it offers Roll back… and whether that is disabled. */
  #commitRow(commit: VcsCommit, newest: boolean, rollBack: { offer: boolean; off: boolean }) {
    const hash = short(commit.hash);
    const label = `Roll back to ${hash}: ${commit.subject}`;
    return html`
      <tr data-hash=${commit.hash}>
        <td data-label="Commit">
          <code title=${commit.hash}>${hash}</code>
          ${newest ? html`<span class="head">current</span>` : nothing}
        </td>
        <td data-label="Subject">${commit.subject}</td>
        <td data-label="Time"><time datetime=${commit.at}>${shortTime(commit.at)}</time></td>
        <td class="action">${rollBack.offer && !newest
          ? html`
            <button type="button" class="danger" aria-label=${label} ?disabled=${rollBack.off}
              @click=${(event: Event) => void this.#ask(commit, event)}>Roll back…</button>
          `
          : nothing}</td>
      </tr>
    `;
  }

  #history(project: ProjectSummary) {
    if (!project.vcs) {
      return html`<p class="muted">This project has no version control.</p>`;
    }
    if (this.logError) return html`<p class="error" role="alert">${this.logError}</p>`;
    const commits = this.commits;
    if (commits === null) return nothing;
    if (commits.length === 0) return html`<p class="muted">No commits yet.</p>`;
    const role = this.#role.value;
    const rollBack = {
      offer: role === "operator" || role === "admin",
      off: project.busy || this.busy || this.loading,
    };
    return html`
      ${project.busy
        ? html`<p class="muted">A step is running: roll back when it ends.</p>`
        : nothing}
      <table class="stack" aria-label="Commits, newest first">
        <thead>
          <tr>
            <th scope="col">Commit</th>
            <th scope="col">Subject</th>
            <th scope="col">Time</th>
            <th scope="col"><span class="sr-only">Roll back</span></th>
          </tr>
        </thead>
        <tbody>${commits.map((commit, index) =>
          this.#commitRow(commit, index === 0, rollBack)
        )}</tbody>
      </table>
    `;
  }

  #confirmation() {
    const commit = this.rollingBack;
    return html`
      <dialog aria-labelledby="rollback-title" @close=${this.#closed}>
        ${commit
          ? html`
            <h2 id="rollback-title">Roll back to ${short(commit.hash)}?</h2>
            <blockquote>${commit.subject}</blockquote>
            <p class="muted">Committed ${shortTime(
              commit.at,
            )}. The workspace returns to this commit:
              later changes, and files it does not hold, are removed. The current state stays on a
              backup branch.</p>
            ${this.dialogError
              ? html`<p class="error" role="alert">${this.dialogError}</p>`
              : nothing}
            <div class="row">
              <button type="button" @click=${() => this.#dialog?.close()}>Cancel</button>
              <button type="button" class="danger" ?disabled=${this.busy} @click=${this
                .#rollBack}>Roll back</button>
            </div>
          `
          : nothing}
      </dialog>
    `;
  }

  override render(): unknown {
    const project = this.project;
    if (!project) return nothing;
    const waiting = this.loading && this.files === null;
    return html`
      <p role="status" class="muted">${this.status || (waiting ? "Loading…" : "")}</p>
      <section aria-labelledby="files-title">
        <h2 id="files-title">Workspace</h2>
        ${this.error
          ? html`
            <p class="error"
              role="alert">${this.error} <button type="button" @click=${() =>
                void this.#load()}>Retry</button></p>
          `
          : nothing}
        ${this.#listing()}
      </section>
      <section aria-labelledby="vcs-title">
        <h2 id="vcs-title" tabindex="-1">Version control</h2>
        ${this.#history(project)}
      </section>
      ${this.#confirmation()}
    `;
  }
}
customElements.define("sm-project-files", SmProjectFiles);

declare global {
  interface HTMLElementTagNameMap {
    "sm-project-files": SmProjectFiles;
  }
}
