/**
 * The API reference's entry (`/docs`): defines `<sm-docs-app>` and its
 * elements (bundled by `build.ts` into its own hashed module, `docs.js`).
 *
 * @module
 */
import "./sm-docs-app.ts";
