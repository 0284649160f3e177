/**
 * Styles shared by the API reference's elements, after the dashboard's
 * `shared`: `box-sizing` set outright, because content inside `<details>`
 * inherits through the element's built-in shadow tree, which `inherit`
 * would carry `content-box` from (controls then overflow their box).
 *
 * @module
 */
import { css } from "lit";

export const docsBase = css`
  *,
  *::before,
  *::after {
    box-sizing: border-box;
  }
`;
