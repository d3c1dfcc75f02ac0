import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import * as vega from "vega";
import { type TopLevelSpec, compile } from "vega-lite";
import type { Figure, Results, StepTimes, Suite } from "./results.js";

/**
 * The charts docs/benchmarks.md opens with, written by `pnpm bench` from the
 * figures it just measured: vega-lite specs rendered to SVG in Node. The
 * figures go to bench-results.json beside them; a run of some suites
 * replaces those suites' figures there and keeps the others', so every chart
 * is drawn from the last run of each suite (each suite's entry says when).
 */
const DIRECTORY = new URL("../../../docs/images/", import.meta.url);
const RESULTS_FILE = new URL("bench-results.json", DIRECTORY);

const BACKENDS: Record<Exclude<Suite, "core">, string> = {
  postgres: "PostgreSQL",
  redis: "Redis",
  sqlite: "SQLite (synchronous FULL)",
};
/** The headline's rows, in this order (a suite's figures it lacks are left out). */
const FIGURE_ORDER = [
  "(a) chain: time",
  "(c) 1,000 threads: time",
  "growing 200: time",
  "growing 200: WAL",
  "growing 200: bytes in",
  "growing 200: write(2) bytes",
  "growing 200: load",
  "resume 200 (new process)",
  "growing 2,000: time",
  "growing 2,000: WAL",
  "growing 2,000: bytes in",
  "growing 2,000: write(2) bytes",
  "growing 2,000: load",
];
/** The sides the headline draws against the floor (the references are in the tables). */
const HEADLINE_SIDES = new Set(["waypoint", "langgraph", "langgraph+WaypointSaver"]);
/** The sides the steps chart draws (the others would hide them). */
const STEP_SIDES = new Set(["floor", "waypoint", "old put"]);
/** One color per side in every chart. */
const SIDE_COLORS = {
  domain: [
    "floor",
    "waypoint",
    "langgraph",
    "langgraph+WaypointSaver",
    "floor+script",
    "keyed",
    "old put",
  ],
  range: ["#8c8c8c", "#1f77b4", "#ff7f0e", "#2ca02c", "#bcbd22", "#17becf", "#9467bd"],
};

interface SuiteResults {
  readonly measured: string;
  readonly commit: string;
  readonly node: string;
  readonly figures: readonly Figure[];
  readonly stepTimes: readonly StepTimes[];
}

type ResultsFile = Partial<Record<Suite, SuiteResults>>;

/** The commit the packages were built from: call it when the run starts (others commit meanwhile). */
export function commitOf(): string {
  try {
    const commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { encoding: "utf8" });
    const dirty = execFileSync("git", ["status", "--porcelain", "--", "apps", "packages"], {
      encoding: "utf8",
    });
    return `${commit.trim()}${dirty.trim() === "" ? "" : " (with uncommitted changes)"}`;
  } catch {
    return "unknown";
  }
}

async function render(spec: TopLevelSpec): Promise<string> {
  // vega-lite warns that the headline's layers, faceted with a y scale per
  // backend, union one field's domain: they are the same data. Errors still throw.
  const logger = vega.logger(vega.Error);
  const view = new vega.View(vega.parse(compile(spec, { logger }).spec), { renderer: "none" });
  return view.toSVG();
}

/** The storage suites' figures as multiples of their floor's, the floor itself left out. */
function againstFloor(file: ResultsFile) {
  const rows: { backend: string; figure: string; side: string; ratio: number }[] = [];
  for (const suite of Object.keys(BACKENDS) as (keyof typeof BACKENDS)[]) {
    const figures = file[suite]?.figures ?? [];
    for (const figure of figures) {
      if (!HEADLINE_SIDES.has(figure.side)) continue;
      // Noisy on a shared machine (one descheduling makes it): the steps chart shows it.
      if (figure.figure.endsWith("slowest step")) continue;
      const floor = figures.find((f) => f.figure === figure.figure && f.side === "floor");
      if (floor === undefined || floor.value <= 0) continue;
      rows.push({
        backend: BACKENDS[suite],
        figure: figure.figure,
        side: figure.side,
        ratio: Math.round((figure.value / floor.value) * 100) / 100,
      });
    }
  }
  return rows;
}

function headlineSpec(file: ResultsFile): TopLevelSpec {
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v5.json",
    title: {
      text: "Waypoint and LangGraph.js against the floor, per backend and workload",
      subtitle: [
        "x the floor (one plain write per superstep with the bare client), measured in the same run; lower is better.",
        "LangGraph.js on its own saver: PostgreSQL only (its RedisSaver needs modules); on WaypointSaver:",
        "PostgreSQL and Redis. LangGraph.js is not run at 2,000 steps. Log scale.",
      ],
    },
    data: { values: againstFloor(file) },
    facet: {
      row: { field: "backend", type: "nominal", title: null, sort: Object.values(BACKENDS) },
    },
    spec: {
      width: 520,
      height: { step: 11, for: "offset" },
      layer: [
        {
          // Bars from the floor (1x) to the side's figure: left of the line is better than the floor.
          mark: { type: "bar", tooltip: true },
          encoding: {
            y: {
              field: "figure",
              type: "nominal",
              title: null,
              sort: FIGURE_ORDER,
              axis: { labelLimit: 320 },
            },
            yOffset: { field: "side", type: "nominal" },
            x: {
              field: "ratio",
              type: "quantitative",
              title: "x the floor",
              scale: { type: "log", domain: [0.5, 100] },
            },
            x2: { datum: 1 },
            color: {
              field: "side",
              type: "nominal",
              scale: SIDE_COLORS,
              title: "side",
              legend: { values: [...HEADLINE_SIDES], labelLimit: 240 },
            },
          },
        },
        {
          mark: { type: "text", align: "left", dx: 3, fontSize: 9 },
          encoding: {
            y: { field: "figure", type: "nominal", sort: FIGURE_ORDER },
            yOffset: { field: "side", type: "nominal" },
            x: { field: "ratio", type: "quantitative" },
            text: { field: "ratio", type: "quantitative", format: ".2f" },
          },
        },
        {
          mark: { type: "rule", strokeDash: [4, 3], color: "#444" },
          encoding: { x: { datum: 1 } },
        },
      ],
    },
    resolve: { scale: { y: "independent" } },
  };
}

function memorySpec(file: ResultsFile): TopLevelSpec {
  const figures = file.core?.figures ?? [];
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v5.json",
    title: {
      text: "In memory: the 10-node chain, ms per superstep",
      anchor: "start",
      subtitle: [
        "Waypoint (MemoryCheckpointer) vs LangGraph.js (MemorySaver), same run; lower is better. Log scale.",
        "I/O-shaped: every put awaits a loopback round trip; its floor is the round trips alone.",
      ],
    },
    data: { values: figures.map((f) => ({ ...f, value: Math.round(f.value * 10000) / 10000 })) },
    width: 520,
    layer: [
      {
        mark: { type: "bar", tooltip: true },
        encoding: {
          y: {
            field: "figure",
            type: "nominal",
            title: null,
            sort: ["tight loop", "short run", "I/O-shaped"],
          },
          yOffset: { field: "side", type: "nominal" },
          x: {
            field: "value",
            type: "quantitative",
            title: "ms per superstep",
            scale: { type: "log", domain: [0.01, 10] },
          },
          // A log scale has no zero: the bars start at its left end.
          x2: { datum: 0.01 },
          color: {
            field: "side",
            type: "nominal",
            scale: SIDE_COLORS,
            title: "side",
            legend: { values: ["floor", "waypoint", "langgraph"] },
          },
        },
      },
      {
        mark: { type: "text", align: "left", dx: 3, fontSize: 9 },
        encoding: {
          y: { field: "figure", type: "nominal", sort: ["tight loop", "short run", "I/O-shaped"] },
          yOffset: { field: "side", type: "nominal" },
          x: { field: "value", type: "quantitative" },
          text: { field: "value", type: "quantitative", format: ".3f" },
        },
      },
    ],
  };
}

function stepsSpec(file: ResultsFile): TopLevelSpec {
  const values: { backend: string; side: string; step: number; ms: number }[] = [];
  for (const suite of Object.keys(BACKENDS) as (keyof typeof BACKENDS)[]) {
    for (const series of file[suite]?.stepTimes ?? []) {
      if (!STEP_SIDES.has(series.side)) continue;
      series.ms.forEach((ms, i) =>
        values.push({ backend: BACKENDS[suite], side: series.side, step: i + 1, ms }),
      );
    }
  }
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v5.json",
    title: {
      text: "The growing thread: the time of each step, 2,000 supersteps of 2 KB",
      subtitle: [
        "One run per side (the median run by total time). PostgreSQL and Redis: time between superstep starts;",
        "SQLite: each put or INSERT. Log scale; spikes are snapshots, WAL checkpoints or stalls.",
      ],
    },
    data: { values },
    facet: {
      row: { field: "backend", type: "nominal", title: null, sort: Object.values(BACKENDS) },
    },
    spec: {
      width: 620,
      height: 150,
      encoding: {
        x: { field: "step", type: "quantitative", title: "superstep" },
        color: {
          field: "side",
          type: "nominal",
          scale: SIDE_COLORS,
          title: "side",
          legend: { values: [...STEP_SIDES] },
        },
      },
      layer: [
        {
          // Each step, faint; the line is the median of the 51 steps around it.
          mark: { type: "point", size: 3, opacity: 0.35, filled: true, clip: true },
          encoding: {
            y: {
              field: "ms",
              type: "quantitative",
              title: "ms (log)",
              scale: { type: "log", domainMin: 0.01 },
            },
          },
        },
        {
          transform: [
            {
              window: [{ op: "median", field: "ms", as: "rolling" }],
              frame: [-25, 25],
              groupby: ["side"],
              sort: [{ field: "step" }],
            },
          ],
          mark: { type: "line", strokeWidth: 1.5, clip: true },
          encoding: { y: { field: "rolling", type: "quantitative" } },
        },
      ],
    },
  };
}

/** Merges this run's figures into bench-results.json and writes the charts from it. */
export async function writeCharts(
  results: Results,
  suites: readonly Suite[],
  commit: string,
): Promise<string[]> {
  mkdirSync(DIRECTORY, { recursive: true });
  const file: ResultsFile = existsSync(RESULTS_FILE)
    ? (JSON.parse(readFileSync(RESULTS_FILE, "utf8")) as ResultsFile)
    : {};
  const measured = new Date().toISOString();
  for (const suite of suites) {
    file[suite] = {
      measured,
      commit,
      node: process.version,
      figures: results.figures.filter((f) => f.suite === suite),
      stepTimes: results.stepTimes.filter((s) => s.suite === suite),
    };
  }
  // One line per list of numbers (each step's time): a run changes a few lines, not thousands.
  const json = JSON.stringify(file, null, 1).replace(
    /\[\s*(-?[\d.e+-]+(?:,\s*-?[\d.e+-]+)*)\s*\]/g,
    (_, list: string) => `[${list.replace(/\s+/g, "")}]`,
  );
  writeFileSync(RESULTS_FILE, `${json}\n`);
  const charts: [string, TopLevelSpec][] = [
    ["bench-vs-floor.svg", headlineSpec(file)],
    ["bench-memory.svg", memorySpec(file)],
    ["bench-growing-steps.svg", stepsSpec(file)],
  ];
  const written = [RESULTS_FILE.pathname];
  for (const [name, spec] of charts) {
    const url = new URL(name, DIRECTORY);
    writeFileSync(url, await render(spec));
    written.push(url.pathname);
  }
  return written;
}
