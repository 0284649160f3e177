/**
 * Styles the admin sections share (spec/dashboard.md §5.7, §6): form grids,
 * field errors, and `<dialog>`s that go full-screen below 600 px.
 *
 * @module
 */
import { css } from "lit";

export const adminStyles = css`
  :host {
    display: block;
  }
  form.grid {
    display: grid;
    grid-template-columns: repeat(auto-fit, minmax(180px, 1fr));
    gap: 0 12px;
    align-items: end;
  }
  form.grid input:not([type="checkbox"]),
  form.grid select,
  dialog input,
  dialog select {
    width: 100%;
  }
  .field-error {
    display: block;
    margin-top: 4px;
  }
  dialog {
    width: min(520px, 100vw);
  }
  dialog h2 {
    margin-top: 0;
  }
  .buttons {
    display: flex;
    flex-wrap: wrap;
    gap: 8px;
    justify-content: flex-end;
    margin-top: 12px;
  }
  @media (max-width: 599px) {
    dialog {
      width: 100vw;
      max-width: 100vw;
      height: 100%;
      max-height: 100vh;
      margin: 0;
    }
  }
`;
