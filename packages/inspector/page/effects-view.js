import { html } from "/vendor/preact-htm.js";
import { enc } from "./api.js";
import { useApi } from "./hooks.js";
import { Folded } from "./json-tree.js";

/** Each ctx.effect the thread recorded, tool calls among them, and salvaged partial outputs. */
export function EffectsView({ threadId, namespace, refresh }) {
  const { data, error } = useApi(`/threads/${enc(threadId)}/effects`, { namespace, refresh });
  if (error) return html`<p class="error">${error.code}: ${error.message}</p>`;
  if (!data) return html`<p class="muted">Loading…</p>`;
  const tools = data.effects.filter((e) => e.toolCallId !== undefined);
  return html`<div>
    <h3>Effects (${data.effects.length})</h3>
    <table data-testid="effects">
      <thead>
        <tr>
          <th>step</th>
          <th>task</th>
          <th>effect</th>
          <th>idempotency key</th>
          <th>status</th>
          <th>recorded result</th>
        </tr>
      </thead>
      <tbody>
        ${data.effects.map(
          (e) =>
            html`<tr data-effect=${e.name}>
              <td>${e.step}</td>
              <td title=${e.taskId}>
                ${e.node} <span class="muted mono">${e.taskId.slice(0, 8)}</span>
              </td>
              <td>
                ${e.name}${e.index > 0 ? html` <span class="muted">#${e.index}</span>` : null}
              </td>
              <td class="mono key">${e.idempotencyKey}</td>
              <td>
                <span class=${"status " + e.status.replace(/ /g, "-")}
                  >${e.status}${e.retries ? ` (retry ${e.retries})` : ""}</span
                >
              </td>
              <td>
                ${e.status === "recorded" ? html`<${Folded} value=${e.result} />` : html`<${Folded} value=${e.error} />`}
              </td>
            </tr>`,
        )}
      </tbody>
    </table>
    <h3>Pending tool calls${data.pendingToolCalls ? ` (${data.pendingToolCalls.length})` : ""}</h3>
    ${
      data.pendingToolCalls === null
        ? html`<p class="muted">
            Shown when the inspector has the thread's graph (its channels tell where tool calls
            are).
          </p>`
        : data.pendingToolCalls.length === 0
          ? html`<p class="muted">
              None: every tool call the model asked for has its result in the state.
            </p>`
          : html`<table data-testid="pending-tool-calls">
              <thead>
                <tr>
                  <th>call</th>
                  <th>tool</th>
                  <th>arguments</th>
                  <th>state key</th>
                  <th>recorded result</th>
                </tr>
              </thead>
              <tbody>
                ${data.pendingToolCalls.map(
                  (call) =>
                    html`<tr data-call=${call.id}>
                      <td class="mono">${call.id}</td>
                      <td>${call.name}</td>
                      <td><${Folded} value=${call.args} /></td>
                      <td>${call.channel}</td>
                      <td>
                        ${call.recorded ? html`${call.recorded.ok ? "ok" : "failed"}: <${Folded} value=${call.recorded.ok ? call.recorded.result : call.recorded.error} />` : html`<span class="muted">not run yet</span>`}
                      </td>
                    </tr>`,
                )}
              </tbody>
            </table>`
    }
    <h3>Tool call effects (${tools.length})</h3>
    ${
      tools.length === 0
        ? html`<p class="muted">No tool call recorded.</p>`
        : html`<ul>
            ${tools.map((e) => html`<li><span class="mono">${e.toolCallId}</span> · ${e.status} · <${Folded} value=${e.result ?? e.error} /></li>`)}
          </ul>`
    }
    <h3>Salvaged partial outputs (${data.salvaged.length})</h3>
    ${
      data.salvaged.length === 0
        ? html`<p class="muted">None: no task was cut off mid-way.</p>`
        : html`<table data-testid="salvaged">
            <thead>
              <tr>
                <th>step</th>
                <th>task</th>
                <th>saved</th>
                <th>then</th>
                <th>partial output</th>
              </tr>
            </thead>
            <tbody>
              ${data.salvaged.map(
                (s) =>
                  html`<tr>
                    <td>${s.step}</td>
                    <td>${s.node} <span class="muted mono">${s.taskId.slice(0, 8)}</span></td>
                    <td>${s.savedAt ?? ""}</td>
                    <td>${s.taskFinished ? "task finished" : "unfinished"}</td>
                    <td><${Folded} value=${s.value} /></td>
                  </tr>`,
              )}
            </tbody>
          </table>`
    }
    ${
      data.errors.length
        ? html`<h3>Failed tasks</h3>
            <ul>
              ${data.errors.map((e) => html`<li>${e.node}: <${Folded} value=${e.error} /></li>`)}
            </ul>`
        : null
    }
  </div>`;
}
