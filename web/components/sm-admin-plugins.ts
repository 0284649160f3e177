/**
 * `<sm-admin-plugins>`: every plugin with its state — the built-in ones,
 * and the third-party ones from the config file with their source, granted
 * permissions, recent crashes and last error — and a restart of a
 * third-party plugin (also one disabled after crashes or refused). A refused
 * plugin is otherwise seen only in `/health` and `GET /api/plugins`.
 *
 * @module
 */
import { html, nothing } from "lit";
import { ApiError, type PluginInfo } from "../api/client.ts";
import { CardElement } from "../app/card.ts";
import { count } from "../lib/format.ts";
import { adminStyles } from "../theme/admin.ts";
import { shared } from "../theme/shared.ts";

function message(error: unknown): string {
  return error instanceof ApiError ? error.message : "The server could not be reached";
}

/** "read ./data/peek; net api.example.org:443", or "none". */
function grantsText(grants: PluginInfo["granted_permissions"]): string {
  const parts = Object.entries(grants)
    .filter(([, list]) => list && list.length > 0)
    .map(([kind, list]) => `${kind} ${list!.join(", ")}`);
  return parts.length > 0 ? parts.join("; ") : "none";
}

/** The plugins section. */
export class SmAdminPlugins extends CardElement {
  static override properties = {
    notice: { state: true },
    failure: { state: true },
    pending: { state: true },
  };
  declare notice: string;
  declare failure: string;
  /** The id of the plugin being restarted, if any. */
  declare pending: string | null;
  #data = this.load(() => [] as const, (_args, signal) => this.services.api.plugins(signal));

  static override styles = [shared, adminStyles];

  constructor() {
    super();
    this.notice = "";
    this.failure = "";
    this.pending = null;
  }

  async #restart(id: string) {
    if (this.pending) return;
    this.pending = id;
    try {
      const after = await this.services.api.restartPlugin(id);
      this.failure = after.state === "running"
        ? ""
        : `${id}: ${
          after.last_error ? `${after.last_error.code}: ${after.last_error.message}` : after.state
        }`;
      this.notice = after.state === "running" ? `${id} restarted: running` : "";
    } catch (error) {
      this.notice = "";
      this.failure = `${id}: ${message(error)}`;
    } finally {
      this.pending = null;
      void this.#data.run();
    }
  }

  #row(plugin: PluginInfo) {
    const thirdParty = plugin.source !== "builtin";
    return html`
      <tr data-plugin=${plugin.id} data-state=${plugin.state}>
        <td data-label="Plugin"><strong>${plugin
          .id}</strong> <span class="muted">${plugin.version ?? "–"}</span></td>
        <td data-label="Source">${thirdParty
          ? html`<code>${plugin.source}</code>`
          : "built in"}</td>
        <td data-label="State">${plugin.state}${plugin.crashes_recent
          ? html`
            <span class="muted">(${count(
              plugin.crashes_recent,
              "crash",
              "crashes",
            )} in 10 min)</span>
          `
          : nothing}</td>
        <td data-label="Tools">${plugin.tools.length > 0 ? plugin.tools.join(", ") : "—"}</td>
        <td data-label="Permissions">${plugin.isolation === "in_process"
          ? "the server's"
          : `${grantsText(plugin.granted_permissions)} (sandboxed)`}</td>
        <td data-label="Last error">${plugin.last_error
          ? html`<code>${plugin.last_error.code}</code> ${plugin.last_error.message}`
          : "—"}</td>
        <td class="actions">${thirdParty
          ? html`
            <button type="button" ?disabled=${this.pending !== null}
              aria-label="Restart ${plugin.id}" @click=${() =>
                void this.#restart(plugin.id)}>${this.pending === plugin.id
                ? "Restarting…"
                : "Restart"}</button>
          `
          : nothing}</td>
      </tr>
    `;
  }

  override render(): unknown {
    return html`
      <p
        class="muted">Built-in plugins run in the server (their tools in a sandbox); third-party ones come from the config
      file's <code>plugins</code> and run in a sandbox with the permissions granted there
      (docs/plugins.md). A restart bundles an edited plugin again.</p>
      <div class="row">
        <button type="button" @click=${() => void this.#data.run()}>Refresh</button>
      </div>
      ${this.notice ? html`<p role="status">${this.notice}</p>` : nothing}
      ${this.failure ? html`<p role="alert" class="error">${this.failure}</p>` : nothing}
      ${this.renderTask(this.#data, (plugins) => {
        const troubled = plugins.filter((plugin) => plugin.state !== "running").length;
        return html`
          <p>${count(plugins.length, "plugin")}${troubled
            ? html`, <strong>${troubled} not running</strong>`
            : nothing}.</p>
          <table class="stack">
            <thead>
              <tr>
                <th>Plugin</th>
                <th>Source</th>
                <th>State</th>
                <th>Tools</th>
                <th>Permissions</th>
                <th>Last error</th>
                <th><span class="sr-only">Actions</span></th>
              </tr>
            </thead>
            <tbody>${plugins.map((plugin) => this.#row(plugin))}</tbody>
          </table>
        `;
      })}
    `;
  }
}
customElements.define("sm-admin-plugins", SmAdminPlugins);

declare global {
  interface HTMLElementTagNameMap {
    "sm-admin-plugins": SmAdminPlugins;
  }
}
