import { html, useState } from "/vendor/preact-htm.js";
import { enc } from "./api.js";
import { relativeTime, useApi } from "./hooks.js";

/** Every thread of the store, newest state first, refreshed every 2 s while runs progress. */
export function ThreadsView() {
  const [q, setQ] = useState("");
  const [status, setStatus] = useState("");
  const { data, error } = useApi("/threads", { q, status }, 2000);
  return html`<section>
    <div class="toolbar">
      <input
        type="search"
        placeholder="Search thread ids"
        value=${q}
        onInput=${(e) => setQ(e.target.value)}
        data-testid="thread-search"
      />
      <select
        value=${status}
        onChange=${(e) => setStatus(e.target.value)}
        data-testid="status-filter"
      >
        <option value="">all statuses</option>
        ${["pending", "interrupted", "failed", "finished"].map((s) => html`<option value=${s}>${s}</option>`)}
      </select>
      <span class="muted">live: refreshed every 2 s</span>
    </div>
    ${error ? html`<p class="error">${error.code}: ${error.message}</p>` : null}
    <table data-testid="threads">
      <thead>
        <tr>
          <th>thread</th>
          <th>status</th>
          <th>step</th>
          <th>last update</th>
          <th>graph</th>
        </tr>
      </thead>
      <tbody>
        ${(data?.threads ?? []).map(
          (t) =>
            html`<tr data-thread=${t.threadId}>
              <td><a href=${`#/thread/${enc(t.threadId)}`}>${t.threadId}</a></td>
              <td><span class=${"status " + t.status}>${t.status}</span></td>
              <td>${t.step}</td>
              <td title=${t.updatedAt}>${relativeTime(t.updatedAt)}</td>
              <td>
                ${t.graph ?? ""}${t.graphVersion !== null ? html` <span class="muted">v${t.graphVersion}</span>` : ""}
              </td>
            </tr>`,
        )}
      </tbody>
    </table>
    ${data && data.threads.length === 0 ? html`<p class="muted">No threads${q ? ` matching "${q}"` : ""}.</p>` : null}
  </section>`;
}
