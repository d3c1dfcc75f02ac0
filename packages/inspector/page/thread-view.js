import { html, useState } from "/vendor/preact-htm.js";
import { enc } from "./api.js";
import { ActionsView } from "./actions-view.js";
import { EffectsView } from "./effects-view.js";
import { GraphView } from "./graph-view.js";
import { relativeTime, useApi } from "./hooks.js";
import { RunsView } from "./runs-view.js";
import { StateView } from "./state-view.js";
import { TimelineView } from "./timeline-view.js";

const TABS = ["timeline", "state", "graph", "effects", "runs", "actions"];

/** One thread: its timeline, state and diff, graph, effects, runs and actions, one tab each. */
export function ThreadView({ threadId, tab = "timeline", readOnly, navigate }) {
  const [namespace, setNamespace] = useState("");
  const [checkpointId, setCheckpointId] = useState(undefined);
  const [compareWith, setCompareWith] = useState(undefined);
  const [refresh, setRefresh] = useState(0);
  const summary = useApi(`/threads/${enc(threadId)}`, { refresh }, 3000);
  const timeline = useApi(`/threads/${enc(threadId)}/timeline`, { namespace, refresh }, 3000);
  const graph = useApi(`/threads/${enc(threadId)}/graph`, { refresh });
  const changed = () => setRefresh((n) => n + 1);
  const tabs = readOnly ? TABS.filter((t) => t !== "actions") : TABS;
  const error = summary.error ?? timeline.error;
  const t = summary.data;
  return html`<section>
    <p><a href="#/">← threads</a></p>
    <h2 class="mono">${threadId}</h2>
    ${
      t
        ? html`<p data-testid="thread-summary">
            <span class=${"status " + t.status} data-testid="thread-status">${t.status}</span>
            step ${t.step} · updated ${relativeTime(t.updatedAt)} ·
            ${`graph ${t.graph ?? "?"}${t.graphVersion !== null ? ` v${t.graphVersion}` : ""}`}
            ${t.hasGraph ? null : html` <span class="muted">(not loaded: read from the store)</span>`}
          </p>`
        : null
    }
    ${error ? html`<p class="error">${error.code}: ${error.message}</p>` : null}
    ${
      timeline.data && timeline.data.namespaces.length > 1
        ? html`<p>
            namespace
            <select
              value=${namespace}
              onChange=${(e) => setNamespace(e.target.value)}
              data-testid="namespace"
            >
              ${timeline.data.namespaces.map((ns) => html`<option value=${ns}>${ns === "" ? "(root graph)" : ns}</option>`)}
            </select>
          </p>`
        : null
    }
    <nav class="tabs">
      ${tabs.map((name) => html`<a href=${`#/thread/${enc(threadId)}/${name}`} class=${name === tab ? "active" : ""} data-tab=${name}>${name}</a>`)}
    </nav>
    ${timeline.data ? body() : html`<p class="muted">Loading…</p>`}
  </section>`;

  function body() {
    switch (tab) {
      case "state":
        return html`<${StateView}
          threadId=${threadId}
          namespace=${namespace}
          timeline=${timeline.data}
          checkpointId=${checkpointId}
          compareWith=${compareWith}
          onSelect=${setCheckpointId}
          onCompare=${setCompareWith}
        />`;
      case "graph":
        return html`<${GraphView} threadId=${threadId} />`;
      case "effects":
        return html`<${EffectsView}
          threadId=${threadId}
          namespace=${namespace}
          refresh=${refresh}
        />`;
      case "runs":
        return html`<${RunsView} threadId=${threadId} readOnly=${readOnly} />`;
      case "actions":
        return readOnly
          ? null
          : html`<${ActionsView}
              refresh=${refresh}
              threadId=${threadId}
              hasGraph=${t?.hasGraph}
              graphName=${t?.graph}
              nodes=${graph.data?.nodes ?? []}
              onChanged=${changed}
            />`;
      default:
        return html`<${TimelineView}
          timeline=${timeline.data}
          threadId=${threadId}
          readOnly=${readOnly || !t?.hasGraph}
          onChanged=${changed}
          onSelect=${(id) => {
            setCheckpointId(id);
            setCompareWith(undefined);
            navigate(`#/thread/${enc(threadId)}/state`);
          }}
        />`;
    }
  }
}
