/**
 * The dashboard's entry: defines `<sm-app>` and its pages (bundled by
 * `build.ts` into one hashed module).
 *
 * @module
 */
import "./app/sm-app.ts";
