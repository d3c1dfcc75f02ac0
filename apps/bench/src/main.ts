/**
 * pnpm bench [suite ...]: runs the benchmark suites and prints each one's
 * figures as ratios measured in the same run (machines here are shared and
 * noisy, so absolute times mean little).
 */
import { coreBenchmark } from "./core.js";
import { postgresBenchmark } from "./postgres.js";
import { redisBenchmark } from "./redis.js";
import { sqliteBenchmark } from "./sqlite.js";

const SUITES: Record<string, () => Promise<string>> = {
  core: coreBenchmark,
  postgres: postgresBenchmark,
  redis: redisBenchmark,
  sqlite: sqliteBenchmark,
};

const requested = process.argv.slice(2).filter((arg) => arg !== "--");
const unknown = requested.filter((name) => !(name in SUITES));
if (unknown.length > 0) {
  console.error(
    `unknown suite(s): ${unknown.join(", ")}; available: ${Object.keys(SUITES).join(", ")}`,
  );
  process.exit(2);
}
console.log(`node ${process.version}, ${new Date().toISOString()}\n`);
for (const name of requested.length > 0 ? requested : Object.keys(SUITES)) {
  console.log(`${await SUITES[name]!()}\n`);
}
