/**
 * `<page-chat>` (spec/dashboard.md §5.2): the thread list, the message log
 * (finished replies as markdown, streaming ones as plain text), tool cards
 * with Approve/Deny inline, the "Unsure" badge and "Why this reply", and
 * the composer (Enter sends, Shift+Enter adds a line, `/` opens the command
 * catalogue, Stop cancels a streaming reply).
 *
 * @module
 */
import { css, html, type LitElement, nothing } from "lit";
import { ApiError, offersInfluence, shownMessages } from "../api/client.ts";
import { SmElement } from "../app/base.ts";
import { errorText } from "../app/card.ts";
import { byteSize, saveBlob } from "../lib/download.ts";
import { shortTime } from "../lib/format.ts";
import type { ChatMessage, Thread, ToolRun } from "../state/types.ts";
import { shared } from "../theme/shared.ts";
import "../components/sm-markdown.ts";
import "../components/sm-tool-card.ts";
import "../components/sm-influence-panel.ts";
import type { SmInfluencePanel } from "../components/sm-influence-panel.ts";

const MAX_CHARS = 32_000;
/** The key prefix of a slash command's answer: shown as the text it is, one line per line. */
const COMMAND_ANSWER = "cmd-answer:";

interface CommandSpec {
  name: string;
  usage: string;
  description: string;
}

/** The chat page. */
export class PageChat extends SmElement {
  static override properties = {
    threadId: { attribute: "thread-id" },
    draft: { state: true },
    sending: { state: true },
    error: { state: true },
    catalogue: { state: true },
    pick: { state: true },
    panelTurn: { state: true },
    renaming: { state: true },
    deleting: { state: true },
    opened: { state: true },
  };
  /** The open thread as the server has it (title, archived), for its actions. */
  declare opened: Thread | null;
  /** The title being typed while the open thread is renamed; null when not renaming. */
  declare renaming: string | null;
  /** Whether the delete confirmation is open. */
  declare deleting: boolean;
  declare threadId: string | null;
  declare draft: string;
  declare sending: boolean;
  declare error: string;
  declare catalogue: CommandSpec[] | null;
  declare pick: number;
  declare panelTurn: string | null;
  #chat = this.select((s) => s.chat);
  #tools = this.select((s) => s.tools);
  #auth = this.select((s) => s.auth);
  #commands: CommandSpec[] | null = null;
  #loaded: string | null | undefined = undefined;
  /** Set while the page reloads what a new WebSocket session may have missed. */
  #resyncing = false;
  /** Set while earlier messages are added, so that the next render does not scroll to the end. */
  #keepScroll = false;
  /** Set when a thread's messages arrive: the next render scrolls again once they have rendered. */
  #justOpened = false;

  static override styles = [
    shared,
    css`
      :host {
        display: grid;
        /* minmax(0, …): a wide child (the thread picker's longest title) must not widen the page. */
        grid-template-columns: 240px minmax(0, 1fr);
        gap: var(--sm-gap);
        height: 100%;
        min-height: 0;
      }
      @media (max-width: 1023px) {
        :host {
          grid-template-columns: minmax(0, 1fr);
        }
        .threads {
          display: none;
        }
      }
      @media (min-width: 1024px) {
        .thread-select {
          display: none;
        }
      }
      .threads {
        overflow-y: auto;
      }
      .threads a {
        display: block;
        padding: 8px;
        border-radius: var(--sm-radius);
        text-decoration: none;
        color: var(--sm-text);
      }
      .threads a[aria-current="page"] {
        background: var(--sm-surface2);
        font-weight: 600;
      }
      button.more {
        margin: 8px;
        align-self: center;
      }
      main {
        display: flex;
        flex-direction: column;
        min-height: 0;
        min-width: 0;
      }
      .thread-select select {
        max-width: 100%;
      }
      .log {
        flex: 1;
        overflow-y: auto;
        display: flex;
        flex-direction: column;
        gap: 8px;
        padding: 4px;
      }
      .bubble {
        max-width: min(760px, 100%);
        padding: 10px 12px;
        border-radius: var(--sm-radius);
        border: 1px solid var(--sm-surface2);
        background: var(--sm-surface);
      }
      .user {
        align-self: flex-end;
        background: var(--sm-surface2);
      }
      .streaming-text {
        white-space: pre-wrap;
      }
      .footer {
        font-size: 0.85rem;
        margin-top: 6px;
      }
      .badge {
        border: 1px solid var(--sm-warn);
        color: var(--sm-warn);
        border-radius: 999px;
        padding: 0 8px;
      }
      form {
        display: grid;
        gap: 4px;
        margin-top: 8px;
      }
      textarea {
        width: 100%;
        min-height: 72px;
        resize: vertical;
      }
      .catalogue {
        list-style: none;
        margin: 0;
        padding: 4px;
        max-height: 240px;
        overflow-y: auto;
      }
      .catalogue li {
        padding: 6px 8px;
        border-radius: var(--sm-radius);
      }
      .catalogue li[aria-selected="true"] {
        background: var(--sm-surface2);
      }
      .thread-actions {
        flex-wrap: wrap;
        margin-bottom: 8px;
      }
      .thread-actions input {
        flex: 1 1 12em;
        min-width: 0;
      }
      dialog {
        max-width: min(480px, 100vw);
      }
      dialog label.check {
        display: flex;
        gap: 8px;
        align-items: center;
        font-weight: normal;
        margin-bottom: 12px;
      }
    `,
  ];

  constructor() {
    super();
    this.threadId = null;
    this.draft = "";
    this.sending = false;
    this.error = "";
    this.catalogue = null;
    this.pick = 0;
    this.panelTurn = null;
    this.renaming = null;
    this.deleting = false;
    this.opened = null;
  }

  override connectedCallback(): void {
    super.connectedCallback();
    void this.#loadThreads();
  }

  override willUpdate(): void {
    if (this.#loaded !== this.threadId) {
      this.#loaded = this.threadId;
      void this.#openThread(this.threadId);
    } else if (this.#chat.value?.stale && !this.#resyncing) {
      // A new session (the server restarted, or the old one expired): events were missed, so the
      // thread is read again — a reply finished meanwhile shows whole, a dead turn as it ended.
      this.#resyncing = true;
      this.error = "";
      // Once per new session: if reading fails, the error shows instead of a retry loop.
      if (this.threadId === null) {
        // No thread open: nothing to read again (a thread being started keeps its messages).
        this.services.store.dispatch({ type: "chat/caught-up" });
        void this.#loadThreads();
      } else void Promise.all([this.#loadThreads(), this.#openThread(this.threadId)]);
    } else if (!this.#chat.value?.stale) {
      this.#resyncing = false;
    }
  }

  async #loadThreads() {
    try {
      const threads = await this.services.api.threads();
      this.services.store.dispatch({
        type: "chat/threads",
        threads: threads.items,
        next: threads.next_cursor,
      });
      const [runs, approvals] = await Promise.all([
        this.services.api.runs(),
        this.services.api.approvals(),
      ]);
      this.services.store.dispatch({
        type: "tools/loaded",
        runs: runs.items,
        approvals: approvals.items,
      });
    } catch (error) {
      this.error = errorText(error);
    }
  }

  /** The next page of threads with older activity, below those listed. */
  async #olderThreads() {
    const next = this.#chat.value?.threadsNext;
    if (!next) return;
    try {
      const threads = await this.services.api.threads(undefined, next);
      this.services.store.dispatch({
        type: "chat/threads",
        threads: threads.items,
        next: threads.next_cursor,
        append: true,
      });
    } catch (error) {
      this.error = errorText(error);
    }
  }

  /** The open thread's messages before those shown, above them; the view stays where it was. */
  async #earlierMessages() {
    const chat = this.#chat.value;
    const threadId = chat?.threadId;
    if (!chat?.earlier || !threadId) return;
    try {
      const page = await this.services.api.messages(threadId, undefined, chat.earlier);
      this.#keepScroll = true;
      this.services.store.dispatch({
        type: "chat/earlier",
        threadId,
        messages: shownMessages(page.items),
        earlier: page.next_cursor,
      });
    } catch (error) {
      this.error = errorText(error);
    }
  }

  /**
   * Reads a thread's messages. Read again while shown (a new session, or the page made anew by a
   * route change), what is still on its way there is kept.
   */
  async #openThread(threadId: string | null) {
    this.renaming = null;
    if (!threadId) {
      this.opened = null;
      this.services.store.dispatch({ type: "chat/open", threadId: null, messages: [] });
      return;
    }
    try {
      const [messages, thread] = await Promise.all([
        this.services.api.messages(threadId),
        this.services.api.thread(threadId),
      ]);
      // The user may have opened another thread meanwhile: this answer is no longer shown.
      if (threadId !== this.threadId) return;
      this.opened = thread;
      this.#justOpened = true;
      this.services.store.dispatch({
        type: "chat/open",
        threadId,
        messages: shownMessages(messages.items),
        earlier: messages.next_cursor,
        keepLive: true,
      });
    } catch (error) {
      this.error = errorText(error);
    }
  }

  async #send(text: string) {
    const content = text.trim();
    if (!content || this.sending) return;
    this.catalogue = null;
    this.error = "";
    this.sending = true;
    const services = this.services;
    try {
      if (content.startsWith("/")) {
        const answer = await services.api.request<{
          response: string;
          success: boolean;
          command?: string;
          data?: { code?: unknown; thread_id?: unknown } | null;
        }>(
          "POST",
          "/api/chat",
          { message: content, ...(this.threadId ? { thread_id: this.threadId } : {}) },
        );
        if (
          answer.success && answer.command === "forget" && this.threadId &&
          answer.data?.thread_id === this.threadId
        ) {
          // The open thread is gone: the page leaves it, as after Delete, and says so.
          services.store.dispatch({
            type: "notice",
            level: "info",
            code: "THREAD_FORGOTTEN",
            message: answer.response,
          });
          this.draft = "";
          services.navigate("/chat");
          await this.#loadThreads();
          return;
        }
        const at = new Date().toISOString();
        // An export is a file to keep, not text to read in a bubble: the answer offers it.
        const download = answer.success && answer.command === "export"
          ? {
            blob: new Blob([answer.response], { type: "application/json" }),
            name: `synth-export-${at.slice(0, 19).replaceAll(":", "-")}.json`,
          }
          : null;
        services.store.dispatch({ type: "chat/sent", key: `cmd:${Date.now()}`, text: content, at });
        services.store.dispatch({
          type: "chat/open",
          threadId: this.threadId,
          messages: [...services.store.state.chat.messages, {
            key: `${COMMAND_ANSWER}${Date.now()}`,
            role: "assistant",
            text: download
              ? `The export is ready: ${byteSize(download.blob.size)} of JSON.`
              : answer.response,
            download,
            turnId: null,
            status: answer.success ? "completed" : "failed",
            // The answer says why; the line under it says only that nothing was done (no reply
            // was asked of the model, so "The reply failed" would mislead).
            error: answer.success ? null : {
              code: typeof answer.data?.code === "string" ? answer.data.code : "COMMAND_REFUSED",
              message: "Not done: the command was refused.",
            },
            createdAt: at,
          }],
        });
        this.draft = "";
        return;
      }
      let threadId = this.threadId;
      if (!threadId) {
        const thread = await services.api.createThread();
        threadId = thread.id;
        // The page is on the new thread now, before the route sets its attribute: no render in
        // between may read it as "no thread" (and clear the message being sent).
        this.threadId = threadId;
        this.#loaded = threadId;
        this.opened = thread;
        services.store.dispatch({ type: "chat/open", threadId, messages: [] });
        services.navigate(`/chat/${threadId}`, { replace: true });
      }
      const key = `pending:${crypto.randomUUID()}`;
      services.store.dispatch({
        type: "chat/sent",
        key,
        text: content,
        at: new Date().toISOString(),
      });
      this.draft = "";
      try {
        const accepted = await services.api.sendTurn(threadId, content, key.slice(8));
        services.store.dispatch({
          type: "chat/accepted",
          key,
          turnId: accepted.turn_id,
          threadId: accepted.thread_id,
        });
      } catch (error) {
        const failure = error instanceof ApiError
          ? { code: error.code, message: error.message }
          : { code: "NETWORK", message: "The server could not be reached" };
        services.store.dispatch({ type: "chat/failed", key, error: failure });
        this.error = failure.message;
        // Not sent: the text goes back into the box to send again (unless a new one was typed).
        if (!this.draft) this.draft = content;
      }
      void this.#loadThreads();
    } catch (error) {
      this.error = errorText(error);
    } finally {
      this.sending = false;
      await this.updateComplete;
      this.#scrollToEnd();
    }
  }

  #scrollToEnd() {
    const log = this.renderRoot.querySelector(".log");
    if (log) log.scrollTop = log.scrollHeight;
  }

  override updated(): void {
    // Earlier messages appear at the top, where the reader clicked: no jump to the end.
    if (this.#keepScroll) {
      this.#keepScroll = false;
      return;
    }
    this.#scrollToEnd();
    // The messages' own elements render after this one (a thread just opened is text-less here):
    // once they have, the end is further down. Only then: not at every streamed token.
    if (!this.#justOpened) return;
    this.#justOpened = false;
    const parts = [...this.renderRoot.querySelectorAll(".log sm-markdown, .log sm-tool-card")]
      .map((part) => (part as LitElement).updateComplete);
    if (parts.length > 0) void Promise.all(parts).then(() => this.#scrollToEnd());
  }

  async #onInput(event: InputEvent) {
    this.draft = (event.target as HTMLTextAreaElement).value;
    if (this.draft.startsWith("/") && !this.draft.includes(" ")) {
      this.#commands ??= await this.services.api.commands().catch(() => []);
      const typed = this.draft.slice(1).toLowerCase();
      this.catalogue = this.#commands.filter((spec) => spec.name.startsWith(typed));
      this.pick = 0;
    } else this.catalogue = null;
  }

  #onKeydown(event: KeyboardEvent) {
    const catalogue = this.catalogue;
    if (catalogue && catalogue.length > 0) {
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        const step = event.key === "ArrowDown" ? 1 : -1;
        this.pick = (this.pick + step + catalogue.length) % catalogue.length;
        return;
      }
      if (event.key === "Escape") {
        event.preventDefault();
        this.catalogue = null;
        return;
      }
      if (event.key === "Enter" && !event.shiftKey) {
        event.preventDefault();
        const typed = this.draft.slice(1).toLowerCase();
        this.catalogue = null;
        // A command typed in full is sent; a partial one is completed first.
        if (catalogue.some((spec) => spec.name === typed)) void this.#send(this.draft);
        else this.draft = `/${catalogue[this.pick]!.name} `;
        return;
      }
    }
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      void this.#send(this.draft);
    }
  }

  /**
   * Renames, archives or restores the open thread. An archived thread leaves the list, so the page
   * goes on to a new conversation.
   */
  async #changeThread(patch: { title?: string | null; archived?: boolean }) {
    const threadId = this.threadId;
    if (!threadId) return;
    try {
      const thread = await this.services.api.updateThread(threadId, patch);
      this.renaming = null;
      if (patch.archived) this.services.navigate("/chat");
      else this.opened = thread;
      await this.#loadThreads();
    } catch (error) {
      this.error = errorText(error);
    }
  }

  async #askDelete() {
    this.deleting = true;
    await this.updateComplete;
    this.renderRoot.querySelector<HTMLDialogElement>("dialog.delete")?.showModal();
  }

  async #delete() {
    const threadId = this.threadId;
    if (!threadId) return;
    const forget = this.renderRoot.querySelector<HTMLInputElement>("#forget-memories")?.checked ??
      false;
    try {
      await this.services.api.deleteThread(threadId, forget);
      this.renderRoot.querySelector<HTMLDialogElement>("dialog.delete")?.close();
      this.services.navigate("/chat");
      await this.#loadThreads();
    } catch (error) {
      this.renderRoot.querySelector<HTMLDialogElement>("dialog.delete")?.close();
      this.error = errorText(error);
    }
  }

  /** Rename, archive (or restore) and delete for the open thread. */
  #threadActions() {
    const thread = this.opened;
    if (!this.threadId || !thread || thread.id !== this.threadId) return nothing;
    // The list is read again after each message, so its title is the fresher one.
    const name = this.#chat.value?.threads.find((item) => item.id === thread.id)?.title ??
      thread.title;
    const title = name || "Untitled";
    if (this.renaming !== null) {
      return html`
        <form class="row thread-actions" @submit=${(e: Event) => {
          e.preventDefault();
          // An empty title makes the thread untitled again.
          void this.#changeThread({ title: (this.renaming ?? "").trim() || null });
        }}>
          <label for="thread-title" class="sr-only">Thread title</label>
          <input id="thread-title" maxlength="200" .value=${this.renaming}
            @input=${(e: Event) => (this.renaming = (e.target as HTMLInputElement).value)}
            @keydown=${(e: KeyboardEvent) => {
              if (e.key === "Escape") this.renaming = null;
            }}>
          <button type="submit">Save</button>
          <button type="button" @click=${() => (this.renaming = null)}>Cancel</button>
        </form>
      `;
    }
    return html`
      <div class="row thread-actions">
        <button type="button" @click=${async () => {
          this.renaming = name ?? "";
          await this.updateComplete;
          this.renderRoot.querySelector<HTMLInputElement>("#thread-title")?.focus();
        }}>Rename</button>
        ${thread.archived
          ? html`<button type="button" @click=${() =>
            void this.#changeThread({ archived: false })}>Restore</button>`
          : html`<button type="button" @click=${() =>
            void this.#changeThread({ archived: true })}>Archive</button>`}
        <button type="button" class="danger" @click=${() => void this.#askDelete()}>Delete…</button>
      </div>
      <dialog class="delete" aria-labelledby="delete-h" @close=${() => (this.deleting = false)}>
              ${this.deleting
                ? html`
                  <h2 id="delete-h">Delete “${title}”?</h2>
                  <p>Its messages, turns and records are deleted for good.</p>
                  <label class="check"><input type="checkbox" id="forget-memories"> Also forget the facts
                    the agent drew from it</label>
                  <div class="row">
                    <button type="button" @click=${() =>
                      this.renderRoot.querySelector<HTMLDialogElement>("dialog.delete")
                        ?.close()}>Cancel</button>
                    <button type="button" class="danger" @click=${() =>
                      void this.#delete()}>Delete</button>
                  </div>
                `
                : nothing}
            </dialog>
    `;
  }

  async #stop(turnId: string) {
    try {
      await this.services.api.cancelTurn(turnId);
    } catch (error) {
      this.error = errorText(error);
    }
  }

  async #decide(event: CustomEvent<{ approvalId: string; decision: "approve" | "deny" }>) {
    try {
      await this.services.api.decide(event.detail.approvalId, event.detail.decision);
    } catch (error) {
      // 409 APPROVAL_CLOSED: the card shows the final state from tool.run.
      if (!(error instanceof ApiError && error.code === "APPROVAL_CLOSED")) {
        this.error = errorText(error);
      }
    }
  }

  async #why(turnId: string) {
    this.panelTurn = turnId;
    const known = this.services.store.state.chat.influence[turnId];
    if (!known) {
      try {
        const record = await this.services.api.influence(turnId);
        this.services.store.dispatch({ type: "chat/influence", turnId, record });
      } catch {
        // The panel shows "Not recorded" for each section.
      }
    }
    await this.updateComplete;
    this.renderRoot.querySelector<SmInfluencePanel>("sm-influence-panel")?.open();
  }

  #toolCards(turnId: string | null, runs: ToolRun[]) {
    if (!turnId) return nothing;
    const tools = this.#tools.value;
    const role = this.#auth.value?.user?.role;
    const canDecide = role === "operator" || role === "admin";
    return runs.filter((run) => run.turn_id === turnId).map((run) =>
      html`
        <sm-tool-card .run=${run} .approval=${run.approval_id
          ? tools?.approvals[run.approval_id] ?? null
          : null}
          ?can-decide=${canDecide} @approval-decided=${this.#decide}></sm-tool-card>
      `
    );
  }

  #message(message: ChatMessage, runs: ToolRun[]) {
    const influence = message.turnId ? this.#chat.value?.influence[message.turnId] : undefined;
    const policy = influence?.reply_policy as
      | { caveat?: boolean; clarifying_question?: boolean }
      | undefined;
    const uncertain = policy?.caveat || policy?.clarifying_question;
    const uPost = (influence?.assurance as { u_post?: number | null } | undefined)?.u_post;
    if (message.role === "user") {
      return html`<div class="bubble user" data-key=${message.key}>
        <pre>${message.text}</pre>
        ${
        message.status === "failed"
          ? html`<p class="error">Not sent: ${message.error?.message}</p>`
          : nothing
      }
      </div>`;
    }
    const streaming = message.status === "streaming";
    return html`
      ${this.#toolCards(message.turnId, runs)}
            <article class="bubble assistant" data-key=${message.key} data-status=${message.status}
        aria-busy=${streaming ? "true" : "false"}>
              ${streaming
                ? html`<div class="streaming-text">${message.text}</div><span class="muted" data-streaming>…</span>`
                : message.key.startsWith(COMMAND_ANSWER)
                ? html`<pre class="command-output">${message.text}</pre>${
                  message.download
                    ? html`<p><button type="button" @click=${() =>
                      saveBlob(message.download!.blob, message.download!.name, {
                        parent: this.renderRoot,
                      })}>Download ${message.download.name}</button></p>`
                    : nothing
                }`
                : html`<sm-markdown .text=${message.text}></sm-markdown>`}
              ${message.status === "failed" || message.status === "cancelled"
                ? html`<p class="error">${
                  message.status === "cancelled"
                    ? "Cancelled"
                    : message.error?.message ?? "The reply failed"
                }</p>`
                : nothing}
              <div class="footer row muted">
                <span>${shortTime(message.createdAt)}</span>
                ${message.usage?.model ? html`<span>${message.usage.model}</span>` : nothing}
                ${message.usage?.output_tokens !== undefined
                  ? html`<span>${message.usage.output_tokens} tokens</span>`
                  : nothing}
                ${uncertain
                  ? html`<span class="badge" data-unsure>Unsure${
                    typeof uPost === "number" ? ` (${uPost.toFixed(2)})` : ""
                  }</span>`
                  : nothing}
                ${streaming && message.turnId
                  ? html`<button @click=${() => this.#stop(message.turnId!)}>Stop</button>`
                  : nothing}
                ${offersInfluence(message)
                  ? html`<button @click=${() => this.#why(message.turnId!)}>Why this reply</button>`
                  : nothing}
              </div>
            </article>
    `;
  }

  override render(): unknown {
    const chat = this.#chat.value;
    const runs = Object.values(this.#tools.value?.runs ?? {});
    if (!chat) return nothing;
    const completed = chat.messages.filter((m) =>
      m.role === "assistant" && m.status === "completed"
    );
    const last = completed.at(-1);
    const viewer = this.#auth.value?.user?.role === "viewer";
    return html`
      <nav class="threads" aria-label="Threads">
        <a href="/chat" aria-current=${this.threadId === null
          ? "page"
          : "false"}>New conversation</a>
        ${chat.threads.map((thread) =>
          html`
            <a href="/chat/${thread.id}"
              aria-current=${thread.id === this.threadId ? "page" : "false"}>${thread.title ||
                "Untitled"}</a>
          `
        )}
        ${chat.threadsNext
          ? html`<button class="more" @click=${() =>
            void this.#olderThreads()}>Older threads</button>`
          : nothing}
      </nav>
      <main>
        <h1 tabindex="-1">Chat</h1>
        ${this.#threadActions()}
        <label class="thread-select">Thread
          <select @change=${(e: Event) =>
            this.services.navigate((e.target as HTMLSelectElement).value)}>
            <option value="/chat" ?selected=${this.threadId === null}>New conversation</option>
            ${chat.threads.map((thread) =>
              html`<option value="/chat/${thread.id}" ?selected=${thread.id === this.threadId}>${
                thread.title || "Untitled"
              }</option>`
            )}
          </select>
        </label>
        ${chat.threadsNext
          ? html`<div class="thread-select"><button class="more" @click=${() =>
            void this.#olderThreads()}>Older threads</button></div>`
          : nothing}
        <div class="log" role="log" aria-label="Messages">
          ${chat.earlier
            ? html`<button class="more" @click=${() =>
              void this.#earlierMessages()}>Earlier messages</button>`
            : nothing}
          ${chat.messages.map((message) => this.#message(message, runs))}
        </div>
        <div class="sr-only" aria-live="polite">${last
          ? `Reply: ${last.text.slice(0, 500)}`
          : ""}</div>
        ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : nothing}
        <form @submit=${(e: Event) => {
          e.preventDefault();
          void this.#send(this.draft);
        }}>
          <label for="composer">Message</label>
          ${this.catalogue && this.catalogue.length
            ? html`<ul class="catalogue card" role="listbox" aria-label="Commands">
              ${
              this.catalogue.map((spec, index) =>
                html`<li role="option" aria-selected=${index === this.pick ? "true" : "false"}>
                <strong>${spec.usage}</strong> <span class="muted">${spec.description}</span></li>`
              )
            }
            </ul>`
            : nothing}
          ${viewer
            ? html`<p id="viewer-note" class="muted">
              You are a viewer: you can read and run the commands that only read (type / to see
              them); sending a message to the agent needs the operator role.
            </p>`
            : nothing}
          <textarea id="composer" .value=${this.draft} maxlength=${MAX_CHARS}
            aria-describedby=${viewer ? "counter viewer-note" : "counter"} @input=${this
              .#onInput} @keydown=${this.#onKeydown}></textarea>
          <div class="row">
            <span id="counter" class="muted">${this.draft.length} / ${MAX_CHARS}</span>
            <button class="primary" type="submit" ?disabled=${this.sending ||
              !this.draft.trim()}>Send</button>
          </div>
        </form>
      </main>
      <sm-influence-panel .record=${this.panelTurn ? chat.influence[this.panelTurn] ?? null : null}
        @panel-closed=${() => (this.panelTurn = null)}></sm-influence-panel>
    `;
  }
}
customElements.define("page-chat", PageChat);

declare global {
  interface HTMLElementTagNameMap {
    "page-chat": PageChat;
  }
}
