/**
 * pnpm bench [--quick] [suite ...]: runs the benchmark suites and prints each
 * one's figures as ratios measured in the same run (machines here are shared
 * and noisy, so absolute times mean little). A full run then writes the
 * charts and their figures to docs/images (charts.ts); --quick runs fewer
 * rounds and writes none. pnpm bench --charts only redraws the charts from
 * the figures stored there.
 */
import { commitOf, writeCharts } from "./charts.js";
import { coreBenchmark } from "./core.js";
import { postgresBenchmark } from "./postgres.js";
import { redisBenchmark } from "./redis.js";
import { results, type Suite } from "./results.js";
import { QUICK } from "./run-options.js";
import { sqliteBenchmark } from "./sqlite.js";
import { wakeBenchmark } from "./wake.js";

const CHARTED: Record<Suite, () => Promise<string>> = {
  core: coreBenchmark,
  postgres: postgresBenchmark,
  redis: redisBenchmark,
  sqlite: sqliteBenchmark,
};
/** Suites that print a table and draw no chart: how soon an idle worker starts a queued run. */
const SUITES: Record<string, () => Promise<string>> = {
  ...CHARTED,
  wake: () => wakeBenchmark(QUICK ? { runs: 15 } : {}),
};

const OPTIONS = new Set(["--", "--quick", "--charts"]);
const requested = process.argv.slice(2).filter((arg) => !OPTIONS.has(arg));
const unknown = requested.filter((name) => !(name in SUITES));
if (unknown.length > 0) {
  console.error(
    `unknown suite(s): ${unknown.join(", ")}; available: ${Object.keys(SUITES).join(", ")}; options: --quick, --charts`,
  );
  process.exit(2);
}
const chartsOnly = process.argv.includes("--charts");
const commit = commitOf();
const suites = chartsOnly ? [] : requested.length > 0 ? requested : Object.keys(SUITES);
console.log(`node ${process.version}, ${new Date().toISOString()}${QUICK ? ", --quick" : ""}\n`);
for (const name of suites) {
  console.log(`${await SUITES[name]!()}\n`);
}
if (QUICK) {
  console.log("--quick: no charts written");
} else {
  const charted = suites.filter((name): name is Suite => name in CHARTED);
  const written = await writeCharts(results, charted, commit);
  console.log(`wrote ${written.map((path) => path.replace(/^.*\/docs\//, "docs/")).join(", ")}`);
}
