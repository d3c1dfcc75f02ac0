/* global window, location, document */
import { html, render, useEffect, useState } from "/vendor/preact-htm.js";
import { hasToken } from "./api.js";
import { useApi } from "./hooks.js";
import { RunsView } from "./runs-view.js";
import { ThreadView } from "./thread-view.js";
import { ThreadsView } from "./threads-view.js";

/** Routes by the address's hash: #/ threads, #/thread/<id>/<tab>, #/runs. */
function useRoute() {
  const [hash, setHash] = useState(location.hash || "#/");
  useEffect(() => {
    const update = () => setHash(location.hash || "#/");
    window.addEventListener("hashchange", update);
    return () => window.removeEventListener("hashchange", update);
  }, []);
  const parts = hash.slice(2).split("/").map(decodeURIComponent);
  return parts;
}

function App() {
  const route = useRoute();
  const info = useApi("/info");
  if (!info.data) return html`<p class="muted">Loading…</p>`;
  const readOnly = info.data.readOnly;
  const navigate = (to) => {
    location.hash = to;
  };
  const page =
    route[0] === "thread" && route[1]
      ? html`<${ThreadView}
          key=${route[1]}
          threadId=${route[1]}
          tab=${route[2]}
          readOnly=${readOnly}
          navigate=${navigate}
        />`
      : route[0] === "runs"
        ? html`<section>
            <h2>Runs</h2>
            <${RunsView} readOnly=${readOnly} />
          </section>`
        : html`<${ThreadsView} />`;
  return html`<header>
      <strong>Waypoint inspector</strong>
      <nav><a href="#/">Threads</a><a href="#/runs">Runs</a></nav>
      <span class="muted" data-testid="mode"
        >${readOnly ? "read-only" : hasToken() ? "actions enabled" : "no token: actions will be refused"}</span
      >
    </header>
    <main>${page}</main>`;
}

render(html`<${App} />`, document.getElementById("app"));
