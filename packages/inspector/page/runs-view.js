import { html, useState } from "/vendor/preact-htm.js";
import { postJson } from "./api.js";
import { relativeTime, useApi } from "./hooks.js";

/** Runs queued for workers (all of them, or one thread's), with cancel, pause and resume. */
export function RunsView({ threadId, readOnly }) {
  const { data, error, reload } = useApi("/runs", { threadId }, 2000);
  const [message, setMessage] = useState(null);
  const act = async (run, action) => {
    try {
      const result = await postJson(`/runs/${encodeURIComponent(run.id)}/${action}`);
      setMessage(`Run ${run.id}: ${result.run.status}`);
    } catch (e) {
      setMessage(`${e.code}: ${e.message}`);
    }
    reload();
  };
  if (error) return html`<p class="error">${error.code}: ${error.message}</p>`;
  if (!data) return html`<p class="muted">Loading…</p>`;
  return html`<div>
    ${message ? html`<p class="notice" data-testid="runs-message">${message}</p>` : null}
    ${data.runs.length === 0 ? html`<p class="muted">No runs queued${threadId ? " for this thread" : ""}.</p>` : null}
    <table data-testid="runs">
      <thead>
        <tr>
          <th>run</th>
          ${threadId ? null : html`<th>thread</th>`}
          <th>graph</th>
          <th>status</th>
          <th>attempts</th>
          <th>worker</th>
          <th>lease expires</th>
          <th>fencing token</th>
          <th>created</th>
          ${readOnly ? null : html`<th></th>`}
        </tr>
      </thead>
      <tbody>
        ${data.runs.map(
          (run) =>
            html`<tr data-run=${run.id}>
              <td class="mono">${run.id.slice(-12)}</td>
              ${threadId ? null : html`<td><a href=${`#/thread/${encodeURIComponent(run.threadId)}`}>${run.threadId}</a></td>`}
              <td>
                ${run.graph}${run.graphVersion !== null ? html` <span class="muted">v${run.graphVersion}</span>` : null}
              </td>
              <td>
                <span class=${"status " + run.status} data-testid="run-status">${run.status}</span
                >${run.control ? html` <span class="muted">(${run.control} requested)</span>` : null}
              </td>
              <td>${run.attempts}/${run.maxAttempts}</td>
              <td>${run.workerId ?? ""}</td>
              <td>${run.leaseExpiresAt ?? ""}</td>
              <td>${run.token}</td>
              <td title=${run.createdAt}>${relativeTime(run.createdAt)}</td>
              ${
                readOnly
                  ? null
                  : html`<td class="actions">
                      ${["pending", "running", "paused"].includes(run.status) ? html`<button class="small" onClick=${() => act(run, "cancel")} data-action="cancel">cancel</button>` : null}
                      ${["pending", "running"].includes(run.status) ? html`<button class="small" onClick=${() => act(run, "pause")} data-action="pause">pause</button>` : null}
                      ${run.status === "paused" ? html`<button class="small" onClick=${() => act(run, "resume")} data-action="resume">resume</button>` : null}
                    </td>`
              }
            </tr>`,
        )}
      </tbody>
    </table>
  </div>`;
}
