import { html, useState } from "/vendor/preact-htm.js";
import { enc, postJson } from "./api.js";
import { useApi } from "./hooks.js";
import { JsonTree } from "./json-tree.js";

/** Answer a pending interrupt, or edit the state as a node. Absent in read-only mode. */
export function ActionsView({ threadId, hasGraph, graphName, nodes, refresh, onChanged }) {
  const { data } = useApi(`/threads/${enc(threadId)}/effects`, { refresh });
  // Kept here, not in the form: a thread whose interrupt was answered has no answer form any more.
  const [messages, setMessages] = useState({});
  const report = (testid) => (message) => setMessages((old) => ({ ...old, [testid]: message }));
  const interrupts = data?.interrupts ?? [];
  return html`<div class="actions-view">
    ${Object.entries(messages).map(
      ([testid, m]) =>
        html`<p class=${m.error ? "error" : "notice"} data-testid=${`${testid}-message`}>
          ${m.text}
        </p>`,
    )}
    ${
      hasGraph
        ? html`<p class="muted">Actions run in this process with graph "${graphName}".</p>`
        : html`<p class="notice">
            The inspector was not given graph "${graphName ?? "?"}": an answer is queued as a run
            for workers (they run the graph's code); editing and forking need the graph (<code
              >waypoint inspect --graphs module</code
            >).
          </p>`
    }
    <h3>Pending interrupts</h3>
    ${interrupts.length === 0 ? html`<p class="muted">None.</p>` : null}
    ${interrupts.map((slot) => html`<div class="card"><strong>${slot.node}</strong> asks: <${JsonTree} value=${slot.interrupts.length === 1 ? slot.interrupts[0].value : slot.interrupts.map((i) => i.value)} /></div>`)}
    ${interrupts.length ? html`<${JsonForm} label="Answer (JSON)" field="value" initial='{"approved": true}' testid="answer" submit="Answer" onMessage=${report("answer")} onSubmit=${(value) => postJson(`/threads/${enc(threadId)}/resume`, { value })} onChanged=${onChanged} />` : null}
    ${
      hasGraph
        ? html`<h3>Edit state</h3>
            <${JsonForm}
              label="Values (JSON object of state keys)"
              field="values"
              initial="{}"
              testid="edit"
              submit="Update state"
              nodes=${nodes}
              onMessage=${report("edit")}
              onSubmit=${(values, asNode) => postJson(`/threads/${enc(threadId)}/state`, { values, ...(asNode ? { asNode } : {}) })}
              onChanged=${onChanged}
            />`
        : null
    }
  </div>`;
}

function JsonForm({
  label,
  initial,
  testid,
  submit,
  onSubmit,
  onChanged,
  onMessage: setMessage,
  nodes,
}) {
  const [text, setText] = useState(initial);
  const [asNode, setAsNode] = useState("");
  const send = async (event) => {
    event.preventDefault();
    let value;
    try {
      value = JSON.parse(text);
    } catch (e) {
      setMessage({ error: true, text: `Not valid JSON: ${e.message}` });
      return;
    }
    try {
      const result = await onSubmit(value, asNode);
      setMessage({
        error: false,
        text:
          result.done === "queued"
            ? `Queued run ${result.run.id} for a worker running graph "${result.run.graph}".`
            : `Done${result.checkpointId ? `: new checkpoint ${result.checkpointId}` : ""}.`,
      });
      onChanged();
    } catch (e) {
      setMessage({ error: true, text: `${e.code}: ${e.message}` });
    }
  };
  return html`<form onSubmit=${send} data-testid=${testid}>
    <label
      >${label}<textarea
        rows="4"
        value=${text}
        onInput=${(e) => setText(e.target.value)}
      ></textarea>
    </label>
    ${
      nodes
        ? html`<label
            >as node
            <select value=${asNode} onChange=${(e) => setAsNode(e.target.value)}>
              <option value="">(plain edit)</option>
              ${nodes.map((n) => html`<option value=${n}>${n}</option>`)}
            </select></label
          >`
        : null
    }
    <button type="submit">${submit}</button>
  </form>`;
}
