import { html, useState } from "/vendor/preact-htm.js";

const FOLD_AT = 8;

/**
 * A JSON value as a tree: objects and lists open to two levels, long lists
 * folded after a few items, long strings cut with a toggle. `changed` holds
 * top-level keys to highlight.
 */
export function JsonTree({ value, depth = 0, changed }) {
  if (value === null || typeof value !== "object") return html`<${Scalar} value=${value} />`;
  const entries = Array.isArray(value) ? value.map((item, i) => [i, item]) : Object.entries(value);
  if (entries.length === 0)
    return html`<span class="muted">${Array.isArray(value) ? "[]" : "{}"}</span>`;
  return html`<${Branch}
    entries=${entries}
    isList=${Array.isArray(value)}
    depth=${depth}
    changed=${changed}
  />`;
}

function Branch({ entries, isList, depth, changed }) {
  const [open, setOpen] = useState(depth < 2);
  const [all, setAll] = useState(false);
  const shown = isList && !all && entries.length > FOLD_AT ? entries.slice(0, FOLD_AT) : entries;
  const n = entries.length;
  const summary = isList
    ? `[${n} ${n === 1 ? "item" : "items"}]`
    : `{${n} ${n === 1 ? "key" : "keys"}}`;
  if (!open)
    return html`<button class="link fold" onClick=${() => setOpen(true)}>${summary}</button>`;
  return html`<div class="tree">
    ${depth > 0 ? html`<button class="link fold" onClick=${() => setOpen(false)}>${summary}</button>` : null}
    ${shown.map(
      ([key, item]) =>
        html`<div
          class=${changed && changed.includes(String(key)) ? "entry changed" : "entry"}
          data-key=${key}
        >
          <span class="key">${key}</span>: <${JsonTree} value=${item} depth=${depth + 1} />
        </div>`,
    )}
    ${
      shown.length < entries.length
        ? html`<button class="link" onClick=${() => setAll(true)}>
            … ${entries.length - shown.length} more items
          </button>`
        : null
    }
  </div>`;
}

function Scalar({ value }) {
  const [full, setFull] = useState(false);
  if (value === undefined) return html`<span class="muted">—</span>`;
  if (typeof value === "string") {
    const cut = !full && value.length > 160;
    return html`<span class="string">"${cut ? value.slice(0, 160) : value}"</span>${
        cut
          ? html`<button class="link" onClick=${() => setFull(true)}>
              … ${value.length - 160} more characters
            </button>`
          : null
      }`;
  }
  return html`<span class=${"scalar " + typeof value}>${String(value)}</span>`;
}

/** A value folded to one line until opened: for recorded results. */
export function Folded({ value }) {
  const [open, setOpen] = useState(false);
  if (value === undefined) return html`<span class="muted">—</span>`;
  const text = JSON.stringify(value);
  if (open)
    return html`<div>
      <button class="link" onClick=${() => setOpen(false)}>fold</button
      ><${JsonTree} value=${value} />
    </div>`;
  return html`<button class="link folded" onClick=${() => setOpen(true)} title="Show all">
    ${text.length > 60 ? text.slice(0, 60) + "…" : text}
  </button>`;
}
