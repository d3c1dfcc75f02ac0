import { html } from "/vendor/preact-htm.js";
import { enc } from "./api.js";
import { useApi } from "./hooks.js";
import { JsonTree } from "./json-tree.js";

/** The state at a checkpoint, with its diff against the parent or any other checkpoint. */
export function StateView({
  threadId,
  namespace,
  timeline,
  checkpointId,
  compareWith,
  onSelect,
  onCompare,
}) {
  const to = checkpointId ?? timeline.headId;
  const { data, error } = useApi(`/threads/${enc(threadId)}/diff`, {
    to,
    from: compareWith,
    namespace,
  });
  const options = timeline.rows.map(
    (row) =>
      html`<option value=${row.id}>
        step ${row.step} · ${row.source ?? ""} · …${row.id.slice(-8)}${row.isHead ? " (head)" : ""}
      </option>`,
  );
  return html`<div class="state">
    <div class="toolbar">
      <label
        >checkpoint
        <select
          value=${to}
          onChange=${(e) => onSelect(e.target.value)}
          data-testid="state-checkpoint"
        >
          ${options}
        </select></label
      >
      <label
        >diff against
        <select
          value=${compareWith ?? ""}
          onChange=${(e) => onCompare(e.target.value || undefined)}
          data-testid="state-compare"
        >
          <option value="">its parent</option>
          ${options}
        </select></label
      >
    </div>
    ${error ? html`<p class="error">${error.code}: ${error.message}</p>` : null}
    ${
      data
        ? html`<div class="columns">
            <div>
              <h3>State at step ${data.to.step}</h3>
              ${
                data.to.exactness === "replay"
                  ? html`<p class="muted">
                      Rebuilt from the store without the
                      graph${data.to.approximateKeys.length ? `; reducer keys guessed: ${data.to.approximateKeys.join(", ")}` : ""}.
                    </p>`
                  : null
              }
              <${JsonTree} value=${data.to.values} changed=${data.changedKeys} />
            </div>
            <div>
              <h3>Changed keys</h3>
              <p data-testid="changed-keys">
                ${data.changedKeys.length === 0 ? html`<span class="muted">none</span>` : data.changedKeys.map((key) => html`<span class="chip changed">${key}</span>`)}
              </p>
              <table class="diff" data-testid="diff">
                <thead>
                  <tr>
                    <th>change</th>
                    <th>path</th>
                    <th>before</th>
                    <th>after</th>
                  </tr>
                </thead>
                <tbody>
                  ${data.changes.slice(0, 200).map(
                    (change) =>
                      html`<tr class=${change.type.toLowerCase()}>
                        <td>${change.type.toLowerCase()}</td>
                        <td class="mono">${change.path.join(".")}</td>
                        <td><${JsonTree} value=${change.oldValue} depth=${2} /></td>
                        <td><${JsonTree} value=${change.value} depth=${2} /></td>
                      </tr>`,
                  )}
                </tbody>
              </table>
              ${data.changes.length > 200 ? html`<p class="muted">… ${data.changes.length - 200} more changes</p>` : null}
            </div>
          </div>`
        : null
    }
  </div>`;
}
