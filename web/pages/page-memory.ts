/**
 * `<page-memory>` (spec/dashboard.md §5.3, memory.md): the memory browser
 * at `/mind/memory`.
 * - Search, debounced 250 ms, from 2 characters, with a kind filter; fewer
 *   characters browse the newest memories instead.
 * - Results show text, kind, created, source and score, with "Load more".
 * - Forget asks for confirmation in a `<dialog>` quoting the memory.
 * - Export downloads the NDJSON export through `fetch` with the token, as a
 *   Blob object URL with `download`, revoked afterwards (§2).
 * - `memory.update` messages raise a "N changes, refresh" chip.
 * - `?id=<memory>` (the influence panel's links) opens one memory; `?q=`
 *   starts a search.
 *
 * @module
 */
import { css, html, nothing } from "lit";
import { ApiError } from "../api/client.ts";
import { SmElement } from "../app/base.ts";
import { errorText } from "../app/card.ts";
import { saveBlob } from "../lib/download.ts";
import { shortTime } from "../lib/format.ts";
import { type Memory, MEMORY_KINDS, type MemoryEmbedder } from "../state/types.ts";
import { shared } from "../theme/shared.ts";

const DEBOUNCE_MS = 250;
const MIN_QUERY = 2;
const PAGE = 20;
const SEARCH_STEP = 10;
const SEARCH_MAX = 50;

type Kind = Memory["kind"] | "";
interface Result {
  memory: Memory;
  /** The recall score (search only). */
  score: number | null;
}

/** The memory browser. */
export class PageMemory extends SmElement {
  static override properties = {
    query: { state: true },
    kind: { state: true },
    single: { state: true },
    results: { state: true },
    cursor: { state: true },
    limit: { state: true },
    more: { state: true },
    loading: { state: true },
    error: { state: true },
    status: { state: true },
    forgetting: { state: true },
    dialogError: { state: true },
    busy: { state: true },
    embedder: { state: true },
  };
  declare query: string;
  declare kind: Kind;
  /** A memory opened by id (`?id=`), shown alone. */
  declare single: string | null;
  declare results: Result[];
  /** Browse mode's next page. */
  declare cursor: string | null;
  /** Search mode's result count asked for. */
  declare limit: number;
  declare more: boolean;
  declare loading: boolean;
  declare error: string;
  /** Polite announcements: counts, "forgotten", "exported". */
  declare status: string;
  /** The memory the confirmation dialog quotes. */
  declare forgetting: Memory | null;
  declare dialogError: string;
  declare busy: boolean;
  /** What search uses, from the stats (spec/memory.md §10 item 13: "lexical" shown). */
  declare embedder: MemoryEmbedder | null;
  #changes = this.select((s) => s.memory.changes);
  #role = this.select((s) => s.auth.user?.role ?? null);
  #timer: ReturnType<typeof setTimeout> | null = null;
  #request: AbortController | null = null;
  #opener: HTMLElement | null = null;

  static override styles = [
    shared,
    css`
      :host {
        display: block;
      }
      .head {
        justify-content: space-between;
      }
      .head a {
        display: inline-block;
        padding: 10px 0;
        min-height: 44px;
      }
      .controls {
        display: grid;
        grid-template-columns: minmax(0, 1fr) auto;
        gap: 0 var(--sm-gap);
        align-items: end;
        margin-bottom: 8px;
      }
      .controls input {
        width: 100%;
      }
      .actions {
        margin: 8px 0;
      }
      .chip {
        border-radius: 999px;
        border-color: var(--sm-accent);
        color: var(--sm-accent);
        background: var(--sm-surface);
      }
      ol {
        list-style: none;
        margin: 0;
        padding: 0;
        display: grid;
        gap: 8px;
      }
      .text {
        white-space: pre-wrap;
        overflow-wrap: anywhere;
        margin: 0 0 6px;
      }
      .meta {
        display: flex;
        flex-wrap: wrap;
        gap: 2px 12px;
        margin: 0 0 6px;
        font-size: 0.9rem;
      }
      .meta dt {
        display: inline;
        color: var(--sm-muted);
      }
      .meta dd {
        display: inline;
        margin: 0 0 0 4px;
      }
      .meta div {
        display: inline;
      }
      dialog {
        max-width: min(560px, 100vw);
        width: 100%;
      }
      blockquote {
        margin: 8px 0;
        padding: 8px 12px;
        border-left: 4px solid var(--sm-border);
        background: var(--sm-surface2);
        white-space: pre-wrap;
        overflow-wrap: anywhere;
        max-height: 40vh;
        overflow: auto;
      }
      @media (max-width: 599px) {
        .controls {
          grid-template-columns: minmax(0, 1fr);
        }
        dialog {
          max-width: 100vw;
          max-height: 100vh;
          height: 100%;
          margin: 0;
        }
      }
    `,
  ];

  constructor() {
    super();
    this.query = "";
    this.kind = "";
    this.single = null;
    this.results = [];
    this.cursor = null;
    this.limit = SEARCH_STEP;
    this.more = false;
    this.loading = false;
    this.error = "";
    this.status = "";
    this.forgetting = null;
    this.dialogError = "";
    this.busy = false;
    this.embedder = null;
  }

  override connectedCallback(): void {
    super.connectedCallback();
    const params = new URLSearchParams(location.search);
    this.single = params.get("id");
    this.query = params.get("q") ?? "";
    void this.#run(false);
    this.services.api.memoryEmbedder().then((embedder) => (this.embedder = embedder))
      .catch(() => {}); // the line is left out; the browser works without it
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    if (this.#timer) clearTimeout(this.#timer);
    this.#request?.abort();
  }

  get #searching(): boolean {
    return this.query.trim().length >= MIN_QUERY;
  }

  get #canWrite(): boolean {
    const role = this.#role.value;
    return role === "operator" || role === "admin";
  }

  /** Loads the first page (or, with `append`, the next one) of the current view. */
  async #run(append: boolean) {
    this.#request?.abort();
    const request = new AbortController();
    this.#request = request;
    const signal = request.signal;
    const api = this.services.api;
    this.loading = true;
    this.error = "";
    // A fresh load shows every change so far: the chip counts from here.
    if (!append) this.services.store.dispatch({ type: "memory/refreshed" });
    try {
      if (this.single) {
        const memory = await api.memory(this.single, signal);
        this.results = [{ memory, score: null }];
        this.more = false;
        this.status = "One memory, opened by its id.";
      } else if (this.#searching) {
        const limit = append ? Math.min(SEARCH_MAX, this.limit + SEARCH_STEP) : SEARCH_STEP;
        const found = await api.searchMemories({
          query: this.query.trim(),
          limit,
          ...(this.kind ? { kinds: [this.kind] } : {}),
        }, signal);
        this.limit = limit;
        this.results = found.map((item) => ({ memory: item.memory, score: item.score }));
        this.more = found.length >= limit && limit < SEARCH_MAX;
        this.status = `${found.length} ${
          found.length === 1 ? "result" : "results"
        } for “${this.query.trim()}”.`;
      } else {
        const page = await api.memories({
          kind: this.kind,
          cursor: append ? this.cursor : null,
          limit: PAGE,
        }, signal);
        const items = page.items.map((memory) => ({ memory, score: null }));
        this.results = append ? [...this.results, ...items] : items;
        this.cursor = page.next_cursor;
        this.more = page.next_cursor !== null;
        this.status = `${this.results.length} newest ${
          this.results.length === 1 ? "memory" : "memories"
        }${this.more ? " shown" : ""}.`;
      }
    } catch (error) {
      if (signal.aborted) return;
      if (this.single && error instanceof ApiError && error.status === 404) {
        this.results = [];
        this.error = "That memory does not exist (any more), or it is not yours.";
      } else this.error = errorText(error);
    } finally {
      if (this.#request === request) this.loading = false;
    }
  }

  #input = (event: Event) => {
    this.query = (event.target as HTMLInputElement).value;
    this.single = null;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = null;
      void this.#run(false);
    }, DEBOUNCE_MS);
  };

  /** Runs now with the current query (a pending debounced run would only repeat it). */
  #now() {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    void this.#run(false);
  }

  #kind = (event: Event) => {
    this.kind = (event.target as HTMLSelectElement).value as Kind;
    this.single = null;
    this.#now();
  };

  #refresh = () => this.#now();

  #showAll = () => {
    this.single = null;
    history.replaceState(null, "", "/mind/memory");
    void this.#run(false);
  };

  async #ask(memory: Memory, event: Event) {
    this.#opener = event.currentTarget as HTMLElement;
    this.forgetting = memory;
    this.dialogError = "";
    await this.updateComplete;
    this.renderRoot.querySelector<HTMLDialogElement>("dialog")?.showModal();
  }

  #cancel = () => {
    this.renderRoot.querySelector<HTMLDialogElement>("dialog")?.close();
  };

  #closed = () => {
    const forgotten = this.forgetting && !this.results.some((r) => r.memory === this.forgetting);
    this.forgetting = null;
    // Back to the opener; if its memory is gone, to the search box.
    const target = !forgotten && this.#opener?.isConnected
      ? this.#opener
      : this.renderRoot.querySelector<HTMLElement>("#q");
    target?.focus();
    this.#opener = null;
  };

  #forget = async () => {
    const memory = this.forgetting;
    if (!memory) return;
    this.busy = true;
    this.dialogError = "";
    try {
      // Its memory.update may come before the answer: the list shows it gone already.
      this.services.store.dispatch({ type: "memory/forgot", id: memory.id });
      await this.services.api.forgetMemory(memory.id);
      this.results = this.results.filter((result) => result.memory.id !== memory.id);
      this.status = "The memory was forgotten.";
      this.renderRoot.querySelector<HTMLDialogElement>("dialog")?.close();
    } catch (error) {
      this.dialogError = errorText(error);
    } finally {
      this.busy = false;
    }
  };

  #export = async () => {
    this.busy = true;
    this.error = "";
    try {
      const { blob, filename } = await this.services.api.exportMemories();
      saveBlob(blob, filename, { parent: this.renderRoot });
      this.status = `Exported ${filename}.`;
    } catch (error) {
      this.error = errorText(error);
    } finally {
      this.busy = false;
    }
  };

  #result({ memory, score }: Result) {
    return html`
      <li>
        <article class="card" data-memory=${memory.id} aria-label="Memory ${memory.id}">
          <p class="text">${memory.text}</p>
          <dl class="meta">
            <div><dt>Kind</dt><dd>${memory.kind}</dd></div>
            <div><dt>Created</dt><dd>${shortTime(memory.created_at)}</dd></div>
            <div><dt>Source</dt><dd>${memory.source}</dd></div>
            <div><dt>Score</dt><dd>${score === null ? "–" : score.toFixed(3)}</dd></div>
            ${memory.suspicious
              ? html`
                <div>
                  <dt>Flag</dt>
                  <dd class="warn">suspicious</dd>
                </div>
              `
              : nothing}
          </dl>
          ${this.#canWrite
            ? html`
              <button type="button" class="danger" aria-label="Forget: ${memory.text.slice(
                0,
                60,
              )}"
                @click=${(event: Event) => void this.#ask(memory, event)}>Forget</button>
            `
            : nothing}
        </article>
      </li>
    `;
  }

  #dialog() {
    const memory = this.forgetting;
    return html`
      <dialog aria-labelledby="forget-h" @close=${this.#closed}>
        ${memory
          ? html`
            <h2 id="forget-h">Forget this memory?</h2>
            <blockquote>${memory.text}</blockquote>
            <p class="muted">${memory.kind}, created ${shortTime(memory.created_at)}. It is deleted
              for good, with its index entries.</p>
            ${this.dialogError
              ? html`<p class="error" role="alert">${this.dialogError}</p>`
              : nothing}
            <div class="row">
              <button type="button" @click=${this.#cancel}>Cancel</button>
              <button type="button" class="danger" ?disabled=${this.busy} @click=${this
                .#forget}>Forget</button>
            </div>
          `
          : nothing}
      </dialog>
    `;
  }

  override render(): unknown {
    const changes = this.#changes.value ?? 0;
    const short = this.query.trim().length > 0 && !this.#searching;
    return html`
      <div class="row head">
        <h1 tabindex="-1">Memory</h1>
        <a href="/mind">Back to Mind</a>
      </div>
      <div class="controls">
        <div>
          <label for="q">Search memories</label>
          <input id="q" type="search" autocomplete="off" .value=${this.query} @input=${this
            .#input}
            aria-describedby="q-hint">
        </div>
        <div>
          <label for="kind">Kind</label>
          <select id="kind" @change=${this.#kind}>
            <option value="" ?selected=${this.kind === ""}>all kinds</option>
            ${MEMORY_KINDS.map((kind) =>
              html`<option value=${kind} ?selected=${this.kind === kind}>${kind}</option>`
            )}
          </select>
        </div>
      </div>
      ${this.embedder
        ? html`
          <p class="muted"
            data-embedder=${this.embedder.label}>Search uses ${this.embedder
              .label} embeddings (${this.embedder.provider}/${this.embedder.model}, ${this.embedder
              .dims} dimensions)${this.embedder.label === "lexical"
              ? ": word overlap, not meaning — configure an embedding model for semantic recall"
              : ""}.</p>
        `
        : nothing}
      <p id="q-hint" class="muted">${short
        ? `Type at least ${MIN_QUERY} characters to search; the newest memories are shown.`
        : "Search from 2 characters; without a search, the newest memories are shown."}</p>
      <div class="row actions">
        ${changes > 0
          ? html`<button type="button" class="chip" @click=${this.#refresh}>${changes} ${
            changes === 1 ? "change" : "changes"
          }, refresh</button>`
          : nothing}
        ${this.single
          ? html`<button type="button" @click=${this.#showAll}>Show all memories</button>`
          : nothing}
        ${this.#canWrite
          ? html`<button type="button" ?disabled=${this.busy} @click=${this.#export}>Export (NDJSON)</button>`
          : nothing}
      </div>
      <p role="status" class="muted">${this.loading ? "Loading…" : this.status}</p>
      ${this.error
        ? html`
          <p class="error"
            role="alert">${this.error} <button type="button" @click=${() =>
              void this.#run(false)}>Retry</button></p>
        `
        : nothing}
      ${this.results.length === 0 && !this.loading && !this.error
        ? html`<p class="muted">No memories${this.#searching ? " match" : " yet"}.</p>`
        : html`<ol aria-label="Memories">${
          this.results.map((result) => this.#result(result))
        }</ol>`}
      ${this.more
        ? html`<button type="button" ?disabled=${this.loading} @click=${() =>
          void this.#run(true)}>Load more</button>`
        : nothing}
      ${this.#dialog()}
    `;
  }
}
customElements.define("page-memory", PageMemory);

declare global {
  interface HTMLElementTagNameMap {
    "page-memory": PageMemory;
  }
}
