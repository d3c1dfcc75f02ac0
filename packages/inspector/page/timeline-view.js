import { html, useState } from "/vendor/preact-htm.js";
import { postJson } from "./api.js";
import { bytes } from "./hooks.js";

/** One row per checkpoint; forks indented under the checkpoint they branch from. */
export function TimelineView({ timeline, threadId, readOnly, onSelect, onChanged }) {
  const [message, setMessage] = useState(null);
  const forkFrom = async (id) => {
    try {
      const result = await postJson(`/threads/${encodeURIComponent(threadId)}/fork`, {
        checkpointId: id,
      });
      setMessage(`Forked: new head ${result.checkpointId}`);
      onChanged();
    } catch (error) {
      setMessage(`${error.code}: ${error.message}`);
    }
  };
  return html`<div>
    ${message ? html`<p class="notice" data-testid="timeline-message">${message}</p>` : null}
    <table data-testid="timeline">
      <thead>
        <tr>
          <th>step</th>
          <th>source</th>
          <th>writes</th>
          <th>next</th>
          <th>duration</th>
          <th>bytes stored</th>
          <th>checkpoint</th>
          ${readOnly ? null : html`<th></th>`}
        </tr>
      </thead>
      <tbody>
        ${timeline.rows.map(
          (row) =>
            html`<tr class=${row.isHead ? "head" : ""} data-checkpoint=${row.id}>
              <td style=${`padding-left:${0.5 + row.depth * 1.5}em`}>
                ${row.depth > 0 ? "↳ " : ""}${row.step}
              </td>
              <td>${row.source ?? ""}</td>
              <td class="writes">
                ${row.writes.map((w) => html`<span class="chip">${w.node} → ${w.channel}${w.count > 1 ? ` ×${w.count}` : ""}</span>`)}
              </td>
              <td>${summarise(row.next)}</td>
              <td>${row.durationMs === null ? "" : `${row.durationMs} ms`}</td>
              <td title=${`pending writes: ${bytes(row.pendingBytes)}`}>
                ${bytes(row.bytes)}${row.snapshot ? html` <span class="muted">snapshot</span>` : null}
              </td>
              <td>
                <button class="link mono" onClick=${() => onSelect(row.id)} title="State and diff">
                  ${row.id.slice(-12)}</button
                >${row.isHead ? html` <span class="status">head</span>` : null}
              </td>
              ${readOnly ? null : html`<td><button class="small" onClick=${() => forkFrom(row.id)} data-action="fork">fork</button></td>`}
            </tr>`,
        )}
      </tbody>
    </table>
  </div>`;
}

/** "fetch ×6, summarise ×6" */
export function summarise(nodes) {
  const counts = new Map();
  for (const node of nodes) counts.set(node, (counts.get(node) ?? 0) + 1);
  return [...counts].map(([node, n]) => (n > 1 ? `${node} ×${n}` : node)).join(", ");
}
