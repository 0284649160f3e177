/**
 * Styles shared by every component (adopted stylesheets, allowed by the
 * CSP): controls, cards, dialogs, the focus ring, the visually-hidden helper.
 *
 * @module
 */
import { css } from "lit";

export const shared = css`
  /* Every dialog's frame; a component sets only its size. */
  dialog {
    border: 1px solid var(--sm-border);
    border-radius: var(--sm-radius);
    background: var(--sm-surface);
    color: var(--sm-text);
    padding: 16px;
  }
  dialog::backdrop {
    background: rgb(0 0 0 / 40%);
  }
  :host {
    font-family: var(--sm-font);
    color: var(--sm-text);
    box-sizing: border-box;
  }
  *,
  *::before,
  *::after {
    box-sizing: inherit;
  }
  a {
    color: var(--sm-accent);
  }
  button,
  input,
  textarea,
  select {
    font: inherit;
    color: var(--sm-text);
    background: var(--sm-surface);
    border: 1px solid var(--sm-border);
    border-radius: var(--sm-radius);
    min-height: 44px;
    padding: 8px 12px;
  }
  button {
    cursor: pointer;
    background: var(--sm-surface2);
  }
  button.primary {
    background: var(--sm-accent);
    color: var(--sm-accent-text);
    border-color: var(--sm-accent);
  }
  button.danger {
    color: var(--sm-danger);
  }
  button:disabled {
    opacity: 0.6;
    cursor: not-allowed;
  }
  :focus-visible {
    outline: 2px solid var(--sm-focus);
    outline-offset: 2px;
  }
  label {
    display: block;
    font-weight: 600;
    margin: 8px 0 4px;
  }
  .card {
    background: var(--sm-surface);
    border: 1px solid var(--sm-border);
    border-radius: var(--sm-radius);
    padding: 12px;
  }
  .muted {
    color: var(--sm-muted);
  }
  .error {
    color: var(--sm-danger);
  }
  .ok {
    color: var(--sm-ok);
  }
  .warn {
    color: var(--sm-warn);
  }
  .row {
    display: flex;
    gap: var(--sm-gap);
    align-items: center;
    flex-wrap: wrap;
  }
  .sr-only {
    position: absolute;
    top: 0;
    left: 0;
    width: 1px;
    height: 1px;
    margin: -1px;
    padding: 0;
    border: 0;
    overflow: hidden;
    clip: rect(0 0 0 0);
    white-space: nowrap;
  }
  h1 {
    font-size: 1.4rem;
    margin: 0 0 12px;
  }
  h2 {
    font-size: 1.1rem;
    margin: 12px 0 8px;
  }
  pre,
  code {
    font-family: var(--sm-mono);
  }
  pre {
    white-space: pre-wrap;
    word-break: break-word;
    margin: 0;
  }
  table {
    border-collapse: collapse;
    width: 100%;
  }
  th,
  td {
    text-align: left;
    padding: 6px 8px;
    border-bottom: 1px solid var(--sm-surface2);
    vertical-align: top;
  }
  @media (max-width: 599px) {
    table.stack thead {
      display: none;
    }
    table.stack tr {
      display: block;
      border: 1px solid var(--sm-surface2);
      border-radius: var(--sm-radius);
      margin-bottom: 8px;
    }
    table.stack td {
      display: block;
      border: none;
    }
    table.stack td[data-label]::before {
      content: attr(data-label) ": ";
      font-weight: 600;
    }
    table.stack td:empty {
      display: none;
    }
  }
`;
