import { html, useEffect, useRef } from "/vendor/preact-htm.js";
import { enc } from "./api.js";
import { useApi } from "./hooks.js";

let mermaid;
async function loadMermaid() {
  if (!mermaid) {
    mermaid = (await import("/vendor/mermaid/mermaid.esm.min.mjs")).default;
    mermaid.initialize({ startOnLoad: false, securityLevel: "strict", theme: "neutral" });
  }
  return mermaid;
}

let drawings = 0;

/** The graph's nodes and edges (Mermaid), the head's planned tasks marked. */
export function GraphView({ threadId }) {
  const { data, error } = useApi(`/threads/${enc(threadId)}/graph`);
  const box = useRef(null);
  useEffect(() => {
    if (!data?.mermaid || !box.current) return;
    let cancelled = false;
    loadMermaid()
      .then((m) => m.render(`graph-${++drawings}`, data.mermaid))
      .then(({ svg }) => {
        if (!cancelled && box.current) box.current.innerHTML = svg;
      })
      .catch((e) => {
        if (box.current) box.current.textContent = `Could not draw the graph: ${e.message}`;
      });
    return () => {
      cancelled = true;
    };
  }, [data?.mermaid]);
  if (error) return html`<p class="error">${error.code}: ${error.message}</p>`;
  if (!data) return html`<p class="muted">Loading…</p>`;
  return html`<div>
    <p class="muted">
      ${data.name ?? "unnamed graph"}${data.version !== null ? ` v${data.version}` : ""} ·
      ${data.source === "graphs" ? "drawn by the compiled graph" : data.source === "metadata" ? "nodes as the store recorded them (start the inspector with the graph to see edges)" : "the store records no shape for this thread"}
      ${data.current.length ? html` · next: <strong>${data.current.join(", ")}</strong>` : null}
    </p>
    <div class="graph" ref=${box} data-testid="graph"></div>
  </div>`;
}
