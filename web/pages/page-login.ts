/**
 * `<page-login>` (spec/dashboard.md §5.1): sign-in, or first-run setup with
 * the one-time setup token printed on the server console. The server
 * decides; its errors sit next to the field they name. A wrong password
 * reads "Wrong username or password" without saying which; a lockout counts
 * down from Retry-After.
 *
 * @fires signed-in {detail: Session}
 * @module
 */
import { css, html, nothing } from "lit";
import { ApiError, type Session } from "../api/client.ts";
import { SmElement } from "../app/base.ts";
import { shared } from "../theme/shared.ts";

/** The sign-in and setup page. */
export class PageLogin extends SmElement {
  static override properties = {
    mode: {},
    pending: { state: true },
    error: { state: true },
    field: { state: true },
    retryIn: { state: true },
  };
  declare mode: "login" | "setup";
  declare pending: boolean;
  declare error: string;
  declare field: string;
  declare retryIn: number;
  #timer: number | null = null;

  static override styles = [
    shared,
    css`
      :host {
        display: block;
        max-width: 420px;
        margin: 48px auto;
        padding: 0 12px;
      }
      input {
        width: 100%;
      }
      form .card {
        display: grid;
        gap: 4px;
      }
      button.primary {
        margin-top: 12px;
        width: 100%;
      }
    `,
  ];

  constructor() {
    super();
    this.mode = "login";
    this.pending = false;
    this.error = "";
    this.field = "";
    this.retryIn = 0;
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    if (this.#timer !== null) clearInterval(this.#timer);
  }

  #countdown(seconds: number) {
    this.retryIn = seconds;
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = setInterval(() => {
      this.retryIn = Math.max(0, this.retryIn - 1);
      if (this.retryIn === 0 && this.#timer !== null) clearInterval(this.#timer);
    }, 1_000) as unknown as number;
  }

  async #submit(event: SubmitEvent) {
    event.preventDefault();
    const form = new FormData(event.target as HTMLFormElement);
    const value = (name: string) => String(form.get(name) ?? "");
    this.error = "";
    this.field = "";
    if (this.mode === "setup" && value("password") !== value("confirm")) {
      this.error = "The passwords do not match";
      this.field = "confirm";
      return;
    }
    if (
      this.mode === "setup" && (value("password").length < 12 || value("password").length > 128)
    ) {
      this.error = "The password needs 12 to 128 characters";
      this.field = "password";
      return;
    }
    this.pending = true;
    try {
      const session: Session = this.mode === "setup"
        ? await this.services.api.setup(value("setup_token"), value("username"), value("password"))
        : await this.services.api.login(value("username"), value("password"));
      this.dispatchEvent(
        new CustomEvent("signed-in", { detail: session, bubbles: true, composed: true }),
      );
    } catch (error) {
      if (error instanceof ApiError) {
        if (error.status === 401 && this.mode === "login") {
          this.error = "Wrong username or password";
        } else this.error = error.message;
        this.field = error.field ??
          (error.code.startsWith("AUTH_SETUP_TOKEN") ? "setup_token" : "");
        if (error.status === 429 && error.retryAfter) this.#countdown(error.retryAfter);
      } else this.error = "The server could not be reached";
    } finally {
      this.pending = false;
    }
  }

  #input(name: string, label: string, type = "text", autocomplete = "off") {
    const invalid = this.field === name;
    return html`
      <label for=${name}>${label}</label>
            <input id=${name} name=${name} type=${type} autocomplete=${autocomplete} required
        aria-invalid=${invalid ? "true" : "false"} aria-describedby=${invalid
          ? "form-error"
          : nothing}>
            ${invalid
              ? html`<span id="form-error" class="error" role="alert">${this.error}</span>`
              : nothing}
    `;
  }

  override render(): unknown {
    const setup = this.mode === "setup";
    return html`
      <h1 tabindex="-1">${setup ? "First-run setup" : "Sign in"}</h1>
            ${setup
              ? html`<p>Create the first administrator. The setup token is printed in the server's log at every start until setup is done (unless the operator set one with SYNTH_SETUP_TOKEN).</p>`
              : nothing}
            <form @submit=${this.#submit} novalidate>
        <div class="card">
                ${setup ? this.#input("setup_token", "Setup token") : nothing}
                ${this.#input("username", "Username", "text", "username")}
                ${this.#input(
                  "password",
                  "Password",
                  "password",
                  setup ? "new-password" : "current-password",
                )}
                ${setup
                  ? this.#input("confirm", "Confirm password", "password", "new-password")
                  : nothing}
                ${this.error && !this.field
                  ? html`<p id="form-error" class="error" role="alert">${this.error}</p>`
                  : nothing}
                ${this.retryIn > 0
                  ? html`<p class="warn" role="status">Try again in ${this.retryIn} s</p>`
                  : nothing}
                <button class="primary" type="submit" ?disabled=${this.pending || this.retryIn > 0}>
                  ${setup ? "Create administrator" : "Sign in"}</button>
              </div>
      </form>
    `;
  }
}
customElements.define("page-login", PageLogin);

declare global {
  interface HTMLElementTagNameMap {
    "page-login": PageLogin;
  }
}
