/**
 * Downloads (spec/dashboard.md §2): a file the API answered to a `fetch`
 * with the token is saved through a Blob object URL on a temporary
 * `<a download>`, and the URL is revoked afterwards — never a link that
 * would need the token in its address. Also the names and sizes the
 * workspace listing shows.
 *
 * @module
 */

/** How long an object URL outlives its click (the download has started with it by then). */
export const REVOKE_AFTER_MS = 1_000;

/**
 * The temporary link, as {@link saveBlob} uses it (an `HTMLAnchorElement`;
 * structural, so this module also type-checks without the DOM library).
 */
export interface DownloadLink {
  href: string;
  download: string;
  hidden: boolean;
  click(): void;
  remove(): void;
}

/** Where the link goes: a shadow root or an element. */
export interface LinkParent {
  ownerDocument: { createElement(tag: "a"): DownloadLink } | null;
  /** Takes the link its `ownerDocument` made (the DOM's takes any `Node`, hence `never` here). */
  appendChild(link: never): unknown;
}

/** What {@link saveBlob} uses of `document` when no parent is given. */
type PageDocument = NonNullable<LinkParent["ownerDocument"]> & { body: LinkParent };

/** Options of {@link saveBlob}. */
export interface SaveBlobOptions {
  /**
   * Where the temporary link goes: a component passes its shadow root, so
   * the link never shows in the page's light DOM.
   * @default document.body
   */
  parent?: LinkParent;
  /**
   * Schedules the URL's revocation.
   * @default setTimeout with {@link REVOKE_AFTER_MS}
   */
  later?: (revoke: () => void) => void;
}

/**
 * Saves `blob` as a file named `filename` through a Blob object URL and a
 * hidden `<a download>`, then revokes the URL.
 *
 * @example
 * ```ts ignore
 * const { blob, filename } = await api.downloadProjectFile(id, "src/main.ts");
 * saveBlob(blob, filename, { parent: this.renderRoot });
 * ```
 */
export function saveBlob(blob: Blob, filename: string, options: SaveBlobOptions = {}): void {
  const page = (globalThis as { document?: PageDocument }).document;
  const parent = options.parent ?? page?.body;
  if (!parent) throw new TypeError("saveBlob needs a parent for its link outside a page");
  const later = options.later ?? ((revoke) => setTimeout(revoke, REVOKE_AFTER_MS));
  const url = URL.createObjectURL(blob);
  try {
    const owner = parent.ownerDocument ?? page;
    if (!owner) throw new TypeError("saveBlob's parent belongs to no document");
    const link = owner.createElement("a");
    link.href = url;
    link.download = filename;
    link.hidden = true;
    (parent.appendChild as (link: DownloadLink) => unknown).call(parent, link);
    link.click();
    link.remove();
  } finally {
    later(() => URL.revokeObjectURL(url));
  }
}

/**
 * The file name for a workspace path: its last segment, with characters a
 * file name cannot hold (`\`, `"`, control characters) replaced by `_`;
 * `download` when nothing is left.
 */
export function fileName(path: string): string {
  const last = path.split("/").filter((segment) => segment !== "").at(-1) ?? "";
  // deno-lint-ignore no-control-regex
  const clean = last.replace(/[\\"\u0000-\u001f\u007f]/g, "_");
  return clean === "" || clean === "." || clean === ".." ? "download" : clean;
}

const UNITS = ["KiB", "MiB", "GiB", "TiB"] as const;

/** `512 B`, `1.5 KiB`, `12 MiB`: one decimal below 10 of a unit, none above. */
export function byteSize(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return "–";
  if (bytes < 1024) return `${Math.round(bytes)} B`;
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  const shown = value < 10 ? value.toFixed(1) : String(Math.round(value));
  return `${shown} ${UNITS[unit]}`;
}
